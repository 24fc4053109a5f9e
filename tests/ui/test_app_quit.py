"""Quit ends the app within seconds whatever is in flight: the real app (`python -m farnode_desktop app`, offscreen)
asks a Secret Service on its own session bus that never answers (its keyring call waits forever, as behind an unlock
prompt nobody sees), then gets SIGTERM or SIGINT (Ctrl-C) and exits, cleanly, within seconds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.ui.app import QUIT_DEADLINE_S
from farnode_desktop.ui.viewmodels.firstrun_vm import marker
from tests.runtime_env import ensure_runtime, runtime_dir_for_tests

pytestmark = [
    pytest.mark.runtime,  # the app's core starts only with the node runtime installed (its nodes are not started)
    pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="needs dbus-daemon for a private session bus"),
]
SILENT_SERVICE = Path(__file__).with_name("silent_secret_service.py")
EXITS_WITHIN_S = QUIT_DEADLINE_S + 10  # the bug was no exit at all; the design bound is QUIT_DEADLINE_S


def wait_for_line(path: Path, text: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def silent_keyring_bus(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A private session bus whose org.freedesktop.secrets takes calls and never answers; yields (address, log)."""
    address_file, service_log = tmp_path / "bus-address", tmp_path / "secret-service.log"
    with address_file.open("w") as out:
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"], stdout=out,
                               stderr=subprocess.DEVNULL)
    service = None
    try:
        assert wait_for_line(address_file, "unix:", 10), "the private session bus did not start"
        address = address_file.read_text().splitlines()[0]
        with service_log.open("w") as log:
            service = subprocess.Popen([sys.executable, str(SILENT_SERVICE)], stdout=log, stderr=subprocess.STDOUT,
                                       env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address))
        assert wait_for_line(service_log, "ready", 20), service_log.read_text()
        yield address, service_log
    finally:
        for proc in (service, bus):
            if proc is not None:
                proc.terminate()
                proc.wait(10)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_app_quits_within_seconds_while_its_keyring_never_answers(
        tmp_path: Path, silent_keyring_bus: tuple[str, Path], signum: signal.Signals) -> None:
    ensure_runtime()
    address, service_log = silent_keyring_bus
    paths = AppPaths.under(tmp_path / "home").ensure()
    SettingsStore(paths.config_file).save(Settings(serve_on_launch=False))
    marker(paths).write_text("done")  # past the first run: the app starts its core and reads the wallet
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address, FARNODE_HOME=str(paths.data.parent),
               FARNODE_RUNTIME_DIR=str(runtime_dir_for_tests()), QT_QPA_PLATFORM="offscreen",
               TMPDIR=str(tmp_path / "tmp"), HOME=str(tmp_path))  # its own single-instance socket and home
    for name in ("PYTHON_KEYRING_BACKEND", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        env.pop(name, None)
    app = subprocess.Popen([sys.executable, "-m", "farnode_desktop", "app"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        # the app has asked the keyring and waits for an answer that never comes
        assert wait_for_line(service_log, "call ", 90), (service_log.read_text(), app.poll())
        time.sleep(1)
        assert app.poll() is None
        sent = time.monotonic()
        app.send_signal(signum)
        output, _ = app.communicate(timeout=EXITS_WITHIN_S)
        took = time.monotonic() - sent
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    print(f"{signum.name}: the app exited {took:.2f} s after the signal")
    assert app.returncode == 0, output[-3000:]
    log = (paths.logs / "app.log").read_text()
    assert f"{signum.name}: quitting" in log and "quit after" in log
    assert "Traceback" not in output
