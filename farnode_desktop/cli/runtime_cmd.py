"""`farnode runtime install|check`: provision and verify the FarMesh node runtime."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from farnode_desktop.cli.runtime_update_cmd import cmd_rollback, cmd_update
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.paths import AppPaths


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    runtime = sub.add_parser("runtime", help="install or check the node runtime (torch, hivemind, petals)")
    rsub = runtime.add_subparsers(dest="runtime_command", required=True)
    install = rsub.add_parser("install", help="create the node runtime from the pinned lock (resumable)")
    install.add_argument("--force", action="store_true", help="reinstall even if the runtime is up to date")
    install.add_argument("--python", help="the Python 3.11 interpreter to build the runtime with")
    install.set_defaults(handler=cmd_install)
    check = rsub.add_parser("check", help="verify the node runtime: versions, imports, pip check")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=cmd_check)
    update = rsub.add_parser("update", help="prepare the runtime lock the update channel publishes (or --lock) "
                                            "beside this one, check it on a real node, then switch to it")
    update.add_argument("--lock", type=Path, help="a runtime lock file to update to (a trial; default: the channel's)")
    update.add_argument("--info", type=Path, help="that lock's metadata (JSON)")
    update.set_defaults(handler=cmd_update)
    rollback = rsub.add_parser("rollback", help="go back to the runtime the last update replaced")
    rollback.set_defaults(handler=cmd_rollback)


def _runtime(args: argparse.Namespace) -> NodeRuntime:
    """The node runtime in this app's folder; one lock serves every machine (a GPU and the CPU demo alike)."""
    paths = AppPaths.default().ensure()
    return NodeRuntime(paths.runtime, base_python=getattr(args, "python", None))


def cmd_install(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    print(f"node runtime: {runtime.location} (lock {runtime.lock.name})")

    def progress(message: str, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        print(f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {message}", flush=True)

    changed = runtime.install(progress=progress, force=args.force)
    print("installed" if changed else "already up to date")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    report = _runtime(args).check()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0 if report.ok else 1
    print(f"node runtime at {report.location}: {'OK' if report.ok else 'NOT OK'}")
    if report.python:
        print(f"  python {report.python}")
    for name, version in report.versions.items():
        print(f"  {name:16} {version}")
    for line in report.known_pin_conflicts:
        print(f"  expected (FarMesh replaces Petals' pin): {line}")
    for problem in report.problems:
        print(f"  problem: {problem}", file=sys.stderr)
    return 0 if report.ok else 1
