"""The Windows readers against fakes of user32, kernel32, shell32 and the registry, built from the documented
structures and values (no Windows here): LASTINPUTINFO and the 32-bit tick count, QUERY_USER_NOTIFICATION_STATE,
HKCU\\Software\\Valve\\Steam RunningAppID as a REG_DWORD."""

from __future__ import annotations

import ctypes
from typing import Any

from farnode_desktop.core.pausing.signals import windows
from farnode_desktop.core.pausing.signals.windows import LASTINPUTINFO, SteamRegistry, WindowsFullscreen, WindowsIdle


class FakeUser32:
    """GetLastInputInfo: checks cbSize as Windows does (it fails on a wrong size) and writes dwTime."""

    def __init__(self, last_input_tick: int) -> None:
        self.last_input_tick = last_input_tick

    def GetLastInputInfo(self, info: Any) -> int:
        if info.contents.cbSize != 8:
            return 0
        info.contents.dwTime = self.last_input_tick
        return 1


class FakeKernel32:
    def __init__(self, tick: int) -> None:
        self.tick = tick

    def GetTickCount(self) -> int:
        return self.tick


class FakeShell32:
    def __init__(self, state: int, result: int = 0) -> None:
        self.state, self.result = state, result

    def SHQueryUserNotificationState(self, out: Any) -> int:
        out.contents.value = self.state
        return self.result


def test_idle_seconds_from_the_last_input_tick_including_after_the_tick_count_wraps() -> None:
    assert ctypes.sizeof(LASTINPUTINFO) == 8  # UINT cbSize + DWORD dwTime, as winuser.h lays it out
    assert WindowsIdle(FakeUser32(1_000_000), FakeKernel32(1_090_500))() == 90.5
    wrapped = WindowsIdle(FakeUser32(0xFFFF_FC18), FakeKernel32(2_000))  # input 1 s before the wrap, now 2 s after
    assert wrapped() == 3.0
    user32 = FakeUser32(0)
    user32.GetLastInputInfo = lambda info: 0  # type: ignore[method-assign]  # the call failed
    assert WindowsIdle(user32, FakeKernel32(5))() is None


def test_full_screen_states_name_what_is_in_front_and_the_others_are_none() -> None:
    assert WindowsFullscreen(FakeShell32(windows.QUNS_RUNNING_D3D_FULL_SCREEN))() == "a Direct3D game"
    assert WindowsFullscreen(FakeShell32(windows.QUNS_BUSY))() == "an application"
    assert WindowsFullscreen(FakeShell32(windows.QUNS_APP))() == "a Store app"
    for state in (windows.QUNS_ACCEPTS_NOTIFICATIONS, windows.QUNS_QUIET_TIME, windows.QUNS_PRESENTATION_MODE):
        assert WindowsFullscreen(FakeShell32(state))() is None
    assert WindowsFullscreen(FakeShell32(windows.QUNS_BUSY, result=-2147467259))() is None  # E_FAIL


def test_off_windows_the_readers_say_unknown_instead_of_failing() -> None:
    assert WindowsIdle()() is None and WindowsFullscreen()() is None and SteamRegistry()() is None


def test_steam_registry_marker() -> None:
    values: dict[str, object] = {"RunningAppID": 1245620}

    def registry(key: str, value: str) -> object:
        assert key == r"Software\Valve\Steam"
        if value not in values:
            raise FileNotFoundError(value)
        return values[value]

    read = SteamRegistry(registry)
    assert read() == 1245620
    values["RunningAppID"] = 0
    assert read() == 0
    values.clear()
    assert read() is None  # Steam never ran
