"""The launcher the installed app's shortcut runs first (stdlib only, before the app loads): it applies a staged
update, has a new version prove itself (its core starts and writes a confirmation) or goes back to the previous one
by itself, then runs the chosen version and restarts it when it asks to ("Restart to update")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from farnode_desktop import __version__
from farnode_desktop.core.updates.app_layout import INSTALLED_ENV, LAUNCHED_ENV, ROOT_ENV, AppRoot, default_root
from farnode_desktop.core.updates.app_start import INSTALLED, RESTART_EXIT, choose

MAX_RESTARTS = 5


def _command(root: AppRoot, version: str | None, base: Sequence[str], args: Sequence[str]) -> list[str]:
    entry = root.entry(version) if version is not None else None
    if entry is not None and getattr(sys, "frozen", False):  # Windows: FarNode.exe runs FarNode.exe, the CLI the CLI
        twin = entry.parent / Path(sys.executable).name
        entry = twin if twin.is_file() else entry
    return [str(entry), *args] if entry is not None else [*base, *args]


def run(args: Sequence[str], base: Sequence[str], root: AppRoot) -> int:
    """Start the chosen version as a child with the same arguments; its exit code is ours. Signals that ask the
    app to stop reach it; RESTART_EXIT starts the choice over (a staged update is applied then)."""
    restarts = 0
    while True:
        version = choose(root)
        env = {**os.environ, ROOT_ENV: str(root.folder), INSTALLED_ENV: root.installed_version,
               LAUNCHED_ENV: version or INSTALLED}
        try:
            child = subprocess.Popen(_command(root, version, base, args), env=env)
        except OSError as exc:
            if version is None:
                raise
            root.roll_back(f"FarNode {version} could not be started ({exc.strerror or exc})")
            continue
        previous: dict[signal.Signals, Any] = {}
        if sys.platform != "win32":
            def forward(signum: int, _frame: object, child: subprocess.Popen[bytes] = child) -> None:
                child.send_signal(signum)

            for sig in (signal.SIGTERM, signal.SIGHUP):
                previous[sig] = signal.signal(sig, forward)
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal sends it to both
        try:
            code = child.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if code != RESTART_EXIT or restarts >= MAX_RESTARTS:
            return code
        restarts += 1
        time.sleep(0.2)


def launch(args: Sequence[str], base: Sequence[str]) -> int | None:
    """The installed app's first step: None when this process is the launched app itself (go on and run it),
    else the exit code of the version the launcher ran. `base` is the command that runs the installed version."""
    if os.environ.get(LAUNCHED_ENV):
        return None
    root = AppRoot(default_root(), __version__)
    try:
        root.folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # no writable app folder: the installed version runs as it is, without updates
    return run(args, base, root)


def base_command(entry_script: str) -> list[str]:
    """How to start the installed version again: the frozen executable itself, or this interpreter on the entry
    script (a bundle made of sources, as the tests build)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, str(Path(entry_script).resolve())]
