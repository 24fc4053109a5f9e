"""The `farnode` argument parser: one sub-command group per module, loaded by name."""

from __future__ import annotations

import argparse
import importlib

from farnode_desktop import __version__

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
    "farnode_desktop.cli.update_cmd",
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
