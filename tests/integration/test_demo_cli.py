"""`farnode demo --headless` as a provider runs it: a killed demo's node is ended by the next run, its ledger kept in
the archive, and a timed run ends with its figures and no traceback, leaving nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from farnode_desktop.core.node.runtime import NodeRuntime

pytestmark = [pytest.mark.runtime, pytest.mark.slow]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "FARNODE_DEMO_HOME")}
    env["FARNODE_HOME"] = str(home)
    return env


def _processes_under(root: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
        except psutil.Error:
            continue
        if proc.pid != os.getpid() and str(root) in cmd:
            found.append(proc)
    return found


def test_killed_demo_is_cleaned_up_by_the_next_run_which_ends_without_a_traceback(
        tmp_path: Path, runtime: NodeRuntime) -> None:
    home = tmp_path / "home"
    cli = [sys.executable, "-m", "farnode_desktop", "demo", "--headless", "--claim-every", "3600"]
    first = subprocess.Popen(cli, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        assert first.stdout is not None
        while time.monotonic() < deadline:
            line = first.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "node serving" in line:
                break
        assert any("node serving" in line for line in lines), "".join(lines)
        # the first ledger holds the node's binding by now; the provider's terminal is closed: SIGKILL, no cleanup
        ledger = home / "data" / "demo" / "data" / "ledger.sqlite3"
        assert ledger.is_file()
        first.send_signal(signal.SIGKILL)
        first.wait(10)

        second = subprocess.run([*cli, "--duration", "8"], env=_env(home), capture_output=True, text=True,
                                timeout=300)
        out = second.stdout + second.stderr
        assert second.returncode == 0, out
        assert "Traceback" not in out and "closed database" not in out, out
        assert "demo: stopped." in out and "served tokens" in out, out
        assert "previous demo's ledger was archived" in out, out
        archived = list((home / "data" / "demo" / "archive").glob("*/ledger.sqlite3"))
        assert len(archived) == 1 and archived[0].stat().st_size > 0
        time.sleep(1)
        assert _processes_under(home) == []
    finally:
        if first.poll() is None:
            first.kill()
        for proc in _processes_under(home):
            proc.kill()
