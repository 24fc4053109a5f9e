"""`farnode runtime update|rollback`: the node runtime's update from the headless side (the app does it by itself)."""

from __future__ import annotations

import argparse
import os

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.process_group import PID_FILE, BadPidFile, read_pid_record
from farnode_desktop.core.node.runtime_versions import RuntimeVersions
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.runtime_prepare import node_trial, prepare
from farnode_desktop.core.updates.runtime_update import RuntimeTargets
from farnode_desktop.core.updates.words import packages


def _nodes_running(paths: AppPaths) -> list[str]:
    """Nodes whose server process is alive: the runtime must not change under them."""
    running = []
    for pid_file in sorted(paths.node_dir("x").parent.glob(f"*/{PID_FILE}")):
        try:
            os.kill(read_pid_record(pid_file).pid, 0)
            running.append(pid_file.parent.name)
        except (OSError, BadPidFile, ValueError):
            continue
    return running


def cmd_update(args: argparse.Namespace) -> int:
    paths = AppPaths.default().ensure()
    versions = RuntimeVersions(paths.runtime)
    if args.lock is not None:
        lock, info = args.lock.read_bytes(), args.info.read_bytes() if args.info else None
    else:
        fetched = RuntimeTargets(paths).fetch()
        if fetched is None:
            print("the update channel publishes no node runtime; nothing to do")
            return 0
        lock, info = fetched
    running = _nodes_running(paths)
    if running:
        raise FarNodeError(f"nodes are running from the current runtime: {', '.join(running)}",
                           hint="stop them first (`farnode node stop`), or let the FarNode app switch: it drains them")

    def progress(message: str, done: int, total: int) -> None:
        print(f"  {message}", flush=True)

    prepared = prepare(versions, lock, info, node_trial(paths), progress=progress)
    previous = versions.switch(prepared.vid)
    print(f"node runtime {prepared.vid} is now current ({packages(len(prepared.changed))} changed: "
          f"{', '.join(prepared.changed) or 'none'}); {previous or 'the previous one'} is kept for one rollback")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    paths = AppPaths.default().ensure()
    running = _nodes_running(paths)
    if running:
        raise FarNodeError(f"nodes are running from the current runtime: {', '.join(running)}",
                           hint="stop them first (`farnode node stop`)")
    print(f"node runtime {RuntimeVersions(paths.runtime).rollback()} is current again")
    return 0
