"""How the launcher picks the version to start (stdlib only): a staged update is applied, a version on trial runs
its self-test (its core starts and writes a confirmation) and stays, or FarNode goes back to the previous one."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace

from farnode_desktop.core.updates.app_layout import INSTALLED_ENV, LAUNCHED_ENV, MAX_TRIES, ROOT_ENV, AppRoot

RESTART_EXIT = 75  # the app's exit code for "start me again" (the tray's Restart to update)
SELF_TEST_TIMEOUT_S = 180.0
INSTALLED = "installed"  # FARNODE_LAUNCHED's value for the package's own version


def self_test(root: AppRoot, version: str, timeout_s: float = SELF_TEST_TIMEOUT_S) -> str | None:
    """Run `version`'s own start-up check; None when it confirmed, else why not (in words)."""
    entry = root.entry(version)
    if entry is None:
        return f"FarNode {version} is not completely unpacked"
    confirmation = root.confirmation(version)
    confirmation.parent.mkdir(parents=True, exist_ok=True)
    confirmation.unlink(missing_ok=True)
    env = {**os.environ, ROOT_ENV: str(root.folder), INSTALLED_ENV: root.installed_version,
           LAUNCHED_ENV: version}
    try:
        done = subprocess.run([str(entry), "update", "confirm-start", "--confirm", str(confirmation)],
                              check=False, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"FarNode {version} did not finish starting within {timeout_s:.0f} s"
    except OSError as exc:
        return f"FarNode {version} could not be started ({exc.strerror or exc})"
    try:
        said = confirmation.read_text(encoding="utf-8")
    except OSError:
        said = ""
    if done.returncode == 0 and f'"{version}"' in said:
        return None
    lines = [line.strip() for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
    said_why = next((line for line in reversed(lines) if not line.startswith("what to do")), "")
    return (f"FarNode {version} failed its self-test at start (exit code {done.returncode}"
            + (f": {said_why[:300]}" if said_why else "") + ")")


def choose(root: AppRoot) -> str | None:
    """Apply what is staged, settle a trial (self-test, or rollback after MAX_TRIES unconfirmed starts), and
    return the version to run (None: the installed one). Each step is one atomic state write."""
    state = root.apply_staged()
    if not root.startable(state.current):
        return None
    if state.trial is not None and state.trial.get("version") == state.current:
        version = str(state.current)
        attempts = int(state.trial["attempts"]) + 1
        if attempts > MAX_TRIES:
            state = root.roll_back(f"{version} was started {MAX_TRIES} times without confirming it works")
            return state.current if root.startable(state.current) else None
        root.write(replace(state, trial={"version": version, "attempts": attempts}))
        problem = self_test(root, version)
        if problem is not None:
            state = root.roll_back(problem)
            return state.current if root.startable(state.current) else None
        root.confirm(version)
    return state.current
