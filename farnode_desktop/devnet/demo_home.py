"""The demo's own home: apart from the provider's files, started afresh each run after ending what a killed demo left
running (through its pid files) and archiving its ledger."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.node.host import OsProcessHost
from farnode_desktop.core.node.process_group import PID_FILE, end_leftover_group
from farnode_desktop.core.paths import AppPaths

GATEWAY_PID_FILE = "gateway.pid"
KEEP_ARCHIVES = 5  # earlier demo ledgers kept under <demo home>/archive


def demo_paths(base: AppPaths | None = None, fresh: bool = True,
               say: Callable[[str], None] | None = None) -> AppPaths:
    """The demo keeps its own settings, ledger and nodes, apart from the provider's real ones.

    Each run starts a new chain, so `fresh` starts from a clean folder (the model is kept). Before anything is
    cleared, what an earlier demo left running (a killed demo's node and gateway) is ended through its pid files,
    and its ledger is archived under `archive/`, never deleted: its claims were on a chain that is gone, but the
    record of them stays readable.
    """
    root = Path(os.environ.get("FARNODE_DEMO_HOME") or (base or AppPaths.default()).data / "demo")
    paths = AppPaths.under(root)
    if fresh and root.exists():
        end_leftovers(paths, say)
        archived = archive_ledger(paths)
        if archived is not None and say is not None:
            say(f"the previous demo's ledger was archived to {archived}")
        for child in root.iterdir():
            if child.name == "data":
                for item in child.iterdir():
                    if item.name != "models":
                        remove(item)
            elif child.name != "archive":
                remove(child)
    return paths


def end_leftovers(paths: AppPaths, say: Callable[[str], None] | None = None) -> list[int]:
    """End every process group an earlier demo recorded (its nodes' servers, its gateway); returns their pids."""
    host, clock = OsProcessHost(), SystemClock()
    pid_files = [*sorted((paths.data / "nodes").glob(f"*/{PID_FILE}")), paths.data / "gateway" / GATEWAY_PID_FILE]
    ended: list[int] = []
    for pid_file in pid_files:
        if pid_file.is_file():
            ended += end_leftover_group(pid_file, host, clock)
    if ended and say is not None:
        say(f"ended {len(ended)} process(es) an earlier demo left running")
    return ended


def archive_ledger(paths: AppPaths, keep: int = KEEP_ARCHIVES) -> Path | None:
    """Move the last demo's ledger (and its SQLite journal files) to archive/<time>/; keep the newest `keep`."""
    ledger = paths.ledger_file
    if not ledger.is_file():
        return None
    archive_root = paths.data.parent / "archive"
    now_ns = time.time_ns()  # names sort in the order the runs ended
    target = archive_root / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now_ns / 1e9))}.{now_ns % 10**9:09d}"
    target.mkdir(parents=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        part = ledger.with_name(ledger.name + suffix)
        if part.exists():
            os.replace(part, target / part.name)
    for old in sorted(p for p in archive_root.iterdir() if p.is_dir())[:-keep]:
        remove(old)
    return target / ledger.name


def remove(path: Path) -> None:
    """A file, a folder, or a link (the link alone: never what it points to)."""
    if path.is_symlink():  # the demo's runtime link: never what it points to
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
