"""Windows readers over ctypes and winreg: idle time (GetLastInputInfo), a full-screen app in front
(SHQueryUserNotificationState) and Steam's running game (HKCU\\Software\\Valve\\Steam RunningAppID).

Each takes its DLL or registry as an argument, so tests pass fakes built from the documented structures and values.
"""

from __future__ import annotations

import ctypes
import importlib
from collections.abc import Callable
from typing import Any

from farnode_desktop.core.pausing.signals.reader import Reader

S_OK = 0
# QUERY_USER_NOTIFICATION_STATE (shellapi.h)
QUNS_NOT_PRESENT = 1  # a full-screen app is running or Presentation Settings are applied
QUNS_BUSY = 2  # a full-screen application is running
QUNS_RUNNING_D3D_FULL_SCREEN = 3  # a full-screen (exclusive mode) Direct3D application is running
QUNS_PRESENTATION_MODE = 4
QUNS_ACCEPTS_NOTIFICATIONS = 5
QUNS_QUIET_TIME = 6
QUNS_APP = 7  # a Windows Store app is running full screen
FULL_SCREEN = {  # what is full screen in front, as the pause reason names it ("A Direct3D game is full screen ...")
    QUNS_BUSY: "an application",
    QUNS_RUNNING_D3D_FULL_SCREEN: "a Direct3D game",
    QUNS_APP: "a Store app",
}
STEAM_KEY = r"Software\Valve\Steam"


class LASTINPUTINFO(ctypes.Structure):
    """winuser.h: cbSize must be set to the struct's size; dwTime is GetTickCount() at the last input."""

    _fields_ = [("cbSize", ctypes.c_uint), ("dwTime", ctypes.c_uint32)]


def _windll(name: str) -> Any:
    windll = getattr(ctypes, "windll", None)  # exists only on Windows
    if windll is None:
        raise OSError("not Windows")
    return windll.LoadLibrary(name)


class WindowsIdle(Reader[float | None]):
    """Seconds since the last keyboard or mouse input: GetTickCount() - LASTINPUTINFO.dwTime (32-bit wrap-safe)."""

    kind = "windows-last-input"
    what = "Windows' last input time (GetLastInputInfo)"

    def __init__(self, user32: Any = None, kernel32: Any = None) -> None:
        self._user32 = user32
        self._kernel32 = kernel32

    def __call__(self) -> float | None:
        try:
            user32 = self._user32 = self._user32 or _windll("user32")
            kernel32 = self._kernel32 = self._kernel32 or _windll("kernel32")
            info = LASTINPUTINFO(ctypes.sizeof(LASTINPUTINFO), 0)
            if not user32.GetLastInputInfo(ctypes.pointer(info)):
                return None
            now = int(kernel32.GetTickCount()) & 0xFFFFFFFF
        except (OSError, AttributeError):
            return None
        return ((now - int(info.dwTime)) & 0xFFFFFFFF) / 1000.0  # the tick count wraps after 49.7 days


class WindowsFullscreen(Reader[str | None]):
    """What is full screen in front, from the shell's notification state (the one Windows uses for Focus Assist)."""

    kind = "windows-notification-state"
    what = "Windows' notification state (SHQueryUserNotificationState)"

    def __init__(self, shell32: Any = None) -> None:
        self._shell32 = shell32

    def __call__(self) -> str | None:
        try:
            shell32 = self._shell32 = self._shell32 or _windll("shell32")
            state = ctypes.c_int(0)
            if int(shell32.SHQueryUserNotificationState(ctypes.pointer(state))) != S_OK:
                return None
        except (OSError, AttributeError):
            return None
        return FULL_SCREEN.get(state.value)


def windows_registry(key: str, value: str) -> object:
    """HKEY_CURRENT_USER\\key's value (Windows only; raises OSError when the key or value is missing)."""
    winreg: Any = importlib.import_module("winreg")  # Windows only: ImportError elsewhere
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as k:
        return winreg.QueryValueEx(k, value)[0]


class SteamRegistry(Reader[int | None]):
    """Steam's running game on Windows: RunningAppID (0 = none); None when Steam was never run here."""

    kind = "steam-windows-registry"
    what = "Steam's RunningAppID in the Windows registry"

    def __init__(self, read_registry: Callable[[str, str], object] = windows_registry) -> None:
        self._read = read_registry

    def __call__(self) -> int | None:
        try:
            return int(str(self._read(STEAM_KEY, "RunningAppID")))
        except (OSError, ValueError, ImportError):
            return None
