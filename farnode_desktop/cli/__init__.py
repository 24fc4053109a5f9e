"""The `farnode` command: one sub-command group per module in this package, headless unless `app`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from farnode_desktop.cli.commands import build_parser
from farnode_desktop.core.checked_files import printable
from farnode_desktop.core.errors import FarNodeError


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in raw:  # the installers' headless check (farnode_desktop/selftest.py)
        from farnode_desktop.selftest import main as self_test

        return self_test(raw)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # No sub-command: open the desktop app if it is installed, else show help.
        if "farnode_desktop.cli.app_cmd" in sys.modules:
            return int(sys.modules["farnode_desktop.cli.app_cmd"].run_default(args))
        parser.print_help()
        return 0
    try:
        return int(handler(args))
    except FarNodeError as exc:
        print(f"farnode: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"  what to do: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("farnode: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a path the OS refused (a file where a folder must be, no permission, a full disk)
        where = f": {exc.filename}" if exc.filename else ""
        print(printable(f"farnode: {exc.strerror or exc}{where}"), file=sys.stderr)
        print("  what to do: check that path; FarNode's folders (and FARNODE_HOME, if set) must be folders you"
              " can write to", file=sys.stderr)
        return 1
