"""A stopped runtime install ends pip for real: NodeRuntime.install runs a stand-in pip (the runtime's `python` is a
shell script that prints pip's first line and sleeps), the cancel Event ends it within seconds (SIGTERM, SIGKILL if
it ignores that), no marker is written; and a killed app takes its pip with it (Linux PR_SET_PDEATHSIG)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.runtime import INSTALL_STOPPED, MARKER, PIP_STOP_GRACE_S, NodeRuntime

STAND_IN = """#!/bin/sh
case "$*" in *"-m pip install"*) ;; *) exit 3 ;; esac
{ignore_term}
echo $$ > "$(dirname "$0")/../pip.pid"
echo "Collecting torch==2.1.0"
exec sleep 60
"""


def _runtime(tmp_path: Path, ignore_term: bool = False) -> NodeRuntime:
    """A runtime folder whose `bin/python` is the stand-in pip (so install() skips the venv and launches it)."""
    location = tmp_path / "runtime"
    (location / "bin").mkdir(parents=True)
    python = location / "bin" / "python"
    python.write_text(STAND_IN.format(ignore_term="trap '' TERM" if ignore_term else ""))
    python.chmod(0o755)
    runtime = NodeRuntime(location, base_python=sys.executable)
    assert runtime.python == python
    return runtime


def _pip_pid(runtime: NodeRuntime) -> int:
    return int((runtime.location / "pip.pid").read_text())


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


@pytest.mark.parametrize("ignore_term", [False, True], ids=["pip-ends-on-sigterm", "pip-ignores-sigterm"])
def test_a_cancelled_install_ends_pip_at_once_and_writes_no_marker(tmp_path: Path, ignore_term: bool) -> None:
    runtime = _runtime(tmp_path, ignore_term)
    said: list[str] = []
    first_line, cancel = threading.Event(), threading.Event()
    cancelled_at: list[float] = []

    def progress(message: str, done: int, total: int) -> None:
        said.append(message)
        first_line.set()

    def provider_presses_stop() -> None:
        assert first_line.wait(20)
        cancelled_at.append(time.monotonic())
        cancel.set()

    stopper = threading.Thread(target=provider_presses_stop, daemon=True)
    stopper.start()
    with pytest.raises(FarNodeError) as caught:
        runtime.install(progress=progress, cancel=cancel)
    took = time.monotonic() - cancelled_at[0]
    stopper.join(1)
    assert str(caught.value) == INSTALL_STOPPED and caught.value.hint == ""
    assert said == ["getting: torch"]  # the stand-in really ran as pip and its line was read
    assert took < (PIP_STOP_GRACE_S + 2 if ignore_term else 2), f"the install took {took:.1f} s to stop"
    assert _gone(_pip_pid(runtime), within_s=0)  # already gone: install() waited for it
    assert not (runtime.location / MARKER).exists() and not runtime.is_installed()


def test_a_cancel_before_pip_starts_launches_no_pip(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FarNodeError, match="install was stopped"):
        runtime.install(cancel=cancel)
    assert not (runtime.location / "pip.pid").exists()


INSTALL_IN_A_CHILD = """
import sys
from pathlib import Path
from farnode_desktop.core.node.runtime import NodeRuntime
NodeRuntime(Path(sys.argv[1]), base_python=sys.executable).install()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_pip_does_not_outlive_a_killed_app(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    app = subprocess.Popen([sys.executable, "-c", INSTALL_IN_A_CHILD, str(runtime.location)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (runtime.location / "pip.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pip = _pip_pid(runtime)
        assert psutil.Process(pip).ppid() == app.pid and not _gone(pip, within_s=0.5)
        os.kill(app.pid, signal.SIGKILL)  # the app is killed: nothing of it runs to end pip
        app.wait(10)
        assert _gone(pip, within_s=5), "the stand-in pip outlived the killed app"
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        if (runtime.location / "pip.pid").exists() and psutil.pid_exists(pid := _pip_pid(runtime)):
            os.kill(pid, signal.SIGKILL)  # leave no stand-in behind when the test fails
