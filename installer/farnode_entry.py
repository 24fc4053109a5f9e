"""Entry point of the frozen app: the `farnode` command (no sub-command opens the desktop app)."""

from farnode_desktop.cli import main

raise SystemExit(main())
