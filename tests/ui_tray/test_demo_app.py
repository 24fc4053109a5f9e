"""`farnode demo` with a display: the tray app shows the demo network serving, and Ctrl-C stops all of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.runtime_env import ensure_runtime, runtime_dir_for_tests

pytestmark = [
    pytest.mark.tray,
    pytest.mark.runtime,
    pytest.mark.skipif(not (os.environ.get("FARNODE_TEST_DISPLAY") and os.environ.get("DISPLAY")),
                       reason="needs an X display with a tray host: set FARNODE_TEST_DISPLAY=1 under xvfb-run"),
]


def processes_under(root: Path) -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline"]) if str(root) in " ".join(p.info["cmdline"] or [])]


def test_the_demo_app_serves_and_ctrl_c_leaves_nothing_running(tmp_path: Path) -> None:
    ensure_runtime()
    home = tmp_path / "home"
    env = dict(os.environ, FARNODE_HOME=str(home), FARNODE_RUNTIME_DIR=str(runtime_dir_for_tests()))
    env.pop("QT_QPA_PLATFORM", None)  # the real X display, as a provider would have
    app = subprocess.Popen([sys.executable, "-m", "farnode_desktop", "demo", "--claim-every", "20"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    gateway_log = home / "data" / "demo" / "logs" / "gateway.log"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and app.poll() is None:
            if gateway_log.exists() and gateway_log.read_text().count('"receipt"') >= 3:
                break
            time.sleep(1)
        assert app.poll() is None, app.communicate()[0][-3000:]
        assert gateway_log.read_text().count('"receipt"') >= 3, "the demo's gateway did not get served"
        assert processes_under(home), "the node and gateway run under the demo's home"
        app.send_signal(signal.SIGINT)  # Ctrl-C in the terminal that started it
        app.wait(timeout=90)
    finally:
        if app.poll() is None:
            app.kill()
    time.sleep(1)
    assert processes_under(home) == [], "Ctrl-C left demo processes behind"
