"""`farnode app [--demo]` and plain `farnode`: open the tray app (the only command that loads Qt)."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    app = sub.add_parser("app", help="open the desktop app in the tray (the default with no command)")
    app.add_argument("--demo", action="store_true",
                     help="run the whole network on this PC (chain, coordinator, gateway, a CPU node) and show it")
    app.add_argument("--minimized", action="store_true", help="start in the tray without opening a window")
    app.add_argument("--duration", type=float, default=0, help="with --demo: stop after this many seconds")
    app.add_argument("--claim-every", type=float, default=45, help="with --demo: claim every this many seconds")
    app.set_defaults(handler=run_app_cmd)


def _has_display() -> bool:
    return (sys.platform in ("win32", "darwin") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
            or bool(os.environ.get("QT_QPA_PLATFORM")))


def run_app_cmd(args: argparse.Namespace) -> int:
    if not _has_display():
        print("farnode: no display to show the app on; use the commands (`farnode --help`), e.g. "
              "`farnode node start` or `farnode demo --headless`", file=sys.stderr)
        return 2
    if getattr(args, "demo", False):
        from farnode_desktop.ui.app import run_demo_app

        return run_demo_app(args)
    from farnode_desktop.ui.app import run_app

    return run_app(args)


def run_default(args: argparse.Namespace) -> int:
    """`farnode` with no command: the tray app where there is a display, else the help."""
    if not _has_display():
        from farnode_desktop.cli.commands import build_parser

        build_parser().print_help()
        return 0
    return run_app_cmd(args)
