"""The `farnode` command: one sub-command group per module in this package, headless unless `app`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from farnode_desktop import __version__
from farnode_desktop.core.errors import FarNodeError

# Each module defines `register(subparsers)`; a module that cannot be imported (an optional part missing)
# must not break the others, so they are loaded by name.
COMMAND_MODULES = (
    "farnode_desktop.cli.runtime_cmd",
    "farnode_desktop.cli.node_cmd",
    "farnode_desktop.cli.gpu_cmd",
    "farnode_desktop.cli.wallet_cmd",
    "farnode_desktop.cli.earnings_cmd",
    "farnode_desktop.cli.devnet_cmd",
    "farnode_desktop.cli.demo_cmd",
    "farnode_desktop.cli.app_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="farnode", description="FarNode Desktop: serve FarMesh blocks from your GPU and get paid."
    )
    parser.add_argument("--version", action="version", version=f"farnode {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


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
