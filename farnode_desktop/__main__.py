"""`python -m farnode_desktop` entry point."""

from farnode_desktop.cli import main

raise SystemExit(main())
