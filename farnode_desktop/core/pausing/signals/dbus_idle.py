"""Idle time from the desktop session over D-Bus (jeepney): GNOME's Mutter IdleMonitor, KDE's org.freedesktop.ScreenSaver.

These work where X11's extension cannot: a Wayland session, where only the compositor sees every input.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, Protocol

from farnode_desktop.core.pausing.signals.reader import Reader

CALL_TIMEOUT_S = 1.0


class BusConnection(Protocol):
    """The part of jeepney's blocking DBusConnection a reader uses (jeepney is imported only where D-Bus is)."""

    def send_and_get_reply(self, message: Any, *, timeout: float | None = None) -> Any: ...

    def close(self) -> None: ...


def session_bus() -> BusConnection:
    from jeepney.io.blocking import open_dbus_connection

    connection: BusConnection = open_dbus_connection(bus="SESSION")
    return connection


class _SessionIdle(Reader[float | None]):
    """One method call that answers milliseconds idle; the connection is opened on first use and kept."""

    bus_name = ""
    path = ""
    interface = ""
    method = ""
    problem = ""

    def __init__(self, connect: Callable[[], BusConnection] = session_bus) -> None:
        self._connect = connect
        self._conn: BusConnection | None = None
        self._lock = threading.Lock()

    def __call__(self) -> float | None:
        from jeepney import DBusAddress, DBusErrorResponse, new_method_call
        from jeepney.wrappers import unwrap_msg

        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                address = DBusAddress(self.path, bus_name=self.bus_name, interface=self.interface)
                reply = self._conn.send_and_get_reply(new_method_call(address, self.method), timeout=CALL_TIMEOUT_S)
                (ms,) = unwrap_msg(reply)
            except DBusErrorResponse as exc:  # no such service, or it declines (KDE on Wayland: NotSupported)
                self.problem = f"{self.bus_name} answered {exc.name}"
                return None
            except (OSError, TimeoutError, KeyError, ValueError) as exc:  # no session bus, or it went away
                self.problem = f"the session bus could not be reached ({exc.__class__.__name__})"
                self._drop()
                return None
            self.problem = ""
            return int(ms) / 1000.0

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._conn = None


class MutterIdle(_SessionIdle):
    """GNOME (X11 or Wayland): Mutter's core idle monitor, GetIdletime in milliseconds."""

    kind = "gnome-idle-monitor"
    what = "GNOME's idle monitor (org.gnome.Mutter.IdleMonitor)"
    bus_name = interface = "org.gnome.Mutter.IdleMonitor"
    path = "/org/gnome/Mutter/IdleMonitor/Core"
    method = "GetIdletime"


class ScreenSaverIdle(_SessionIdle):
    """KDE Plasma and other desktops with the freedesktop screen saver: GetSessionIdleTime in milliseconds."""

    kind = "freedesktop-screensaver"
    what = "the desktop's screen saver service (org.freedesktop.ScreenSaver)"
    bus_name = interface = "org.freedesktop.ScreenSaver"
    path = "/org/freedesktop/ScreenSaver"
    method = "GetSessionIdleTime"
