"""Entry point of the frozen app: the `farnode` command (no sub-command opens the desktop app). The launcher runs
first: it starts the version the app folder says (an applied update, or this installed one) as a child."""

import sys

from farnode_desktop.launcher import base_command, launch

code = launch(sys.argv[1:], base_command(__file__))
if code is not None:
    raise SystemExit(code)

from farnode_desktop.cli import main  # noqa: E402  (only the launched app loads the app)

raise SystemExit(main())
