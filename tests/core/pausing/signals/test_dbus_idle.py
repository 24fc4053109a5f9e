"""The D-Bus idle readers against a real session bus: a tiny org.freedesktop.ScreenSaver (KDE's) and
org.gnome.Mutter.IdleMonitor (GNOME's) are served from the test with jeepney, and the readers call them."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator

import pytest
from jeepney import Message, MessageType, message_bus, new_error, new_method_return
from jeepney.io.blocking import open_dbus_connection

from farnode_desktop.core.pausing.signals.dbus_idle import BusConnection, MutterIdle, ScreenSaverIdle, session_bus

NOT_SUPPORTED = "org.freedesktop.DBus.Error.NotSupported"


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The session bus test-session.sh runs (dbus-run-session), or a dbus-daemon of our own outside it."""
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        yield os.environ["DBUS_SESSION_BUS_ADDRESS"]
        return
    daemon = shutil.which("dbus-daemon")
    assert daemon is not None, "dbus-daemon is not installed (make setup installs dbus)"
    proc = subprocess.Popen([daemon, "--session", "--nofork", "--print-address=1"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address
    finally:
        proc.terminate()
        proc.wait(5)


class IdleService:
    """Owns a bus name and answers one idle method with `value` (milliseconds), or an error when `error` is set."""

    def __init__(self, name: str, path: str, interface: str, method: str, signature: str) -> None:
        self.name, self.path, self.interface, self.method, self.signature = name, path, interface, method, signature
        self.value = 0
        self.error = ""
        self.calls = 0
        self._stop = threading.Event()
        self._conn = open_dbus_connection(bus="SESSION")
        reply = self._conn.send_and_get_reply(message_bus.RequestName(name), timeout=5)
        assert reply.body == (1,), f"could not own {name}"  # 1: DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._conn.receive(timeout=0.1)
            except TimeoutError:
                continue
            h = msg.header
            if h.message_type is not MessageType.method_call:
                continue
            fields = h.fields
            if (fields.get(1), fields.get(2), fields.get(3)) != (self.path, self.interface, self.method):
                self._conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))
                continue
            self.calls += 1
            answer: Message = (new_error(msg, self.error, "s", ("not on this platform",)) if self.error
                               else new_method_return(msg, self.signature, (self.value,)))
            self._conn.send(answer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._conn.close()


@contextlib.contextmanager
def serving(*args: str) -> Iterator[IdleService]:
    service = IdleService(*args)
    try:
        yield service
    finally:
        service.close()


def test_kde_screensaver_idle_time_in_milliseconds_becomes_seconds(bus: str) -> None:
    reader = ScreenSaverIdle()
    assert reader() is None  # nobody owns org.freedesktop.ScreenSaver yet
    assert reader.problem == "org.freedesktop.ScreenSaver answered org.freedesktop.DBus.Error.ServiceUnknown"
    with serving("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver",
                 "GetSessionIdleTime", "u") as kde:
        kde.value = 754_000
        assert reader() == 754.0
        kde.value = 120
        assert reader() == 0.12
        assert kde.calls == 2 and reader.problem == ""
        kde.error = NOT_SUPPORTED  # what KDE answers under Wayland
        assert reader() is None
        assert reader.problem == f"org.freedesktop.ScreenSaver answered {NOT_SUPPORTED}"


def test_gnome_idle_monitor_answers_in_milliseconds(bus: str) -> None:
    with serving("org.gnome.Mutter.IdleMonitor", "/org/gnome/Mutter/IdleMonitor/Core",
                 "org.gnome.Mutter.IdleMonitor", "GetIdletime", "t") as mutter:
        mutter.value = 3_600_000
        assert MutterIdle()() == 3600.0


def test_no_session_bus_is_unknown_and_the_reader_connects_again_later(bus: str) -> None:
    attempts: list[str] = []

    def flaky() -> BusConnection:
        attempts.append("connect")
        if len(attempts) == 1:
            raise ConnectionRefusedError("no bus")
        return session_bus()

    reader = ScreenSaverIdle(flaky)
    assert reader() is None and "could not be reached" in reader.problem
    with serving("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver",
                 "GetSessionIdleTime", "u") as kde:
        kde.value = 5000
        assert reader() == 5.0
        assert reader() == 5.0
    assert attempts == ["connect", "connect"]  # one connection kept once it works
