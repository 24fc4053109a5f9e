"""Which readers each OS and desktop gets: every declared reader is chosen somewhere, Wayland never trusts X11's
idle time, and the idle rule's problem is said in words where no reader answers."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from farnode_desktop.core.pausing import signals as signals_package
from farnode_desktop.core.pausing.signals.choose import PcSignals, Session, for_this_pc, idle_rule_problem
from farnode_desktop.core.pausing.signals.reader import DECLARED, Reader, Unknown

SESSIONS = {
    "windows": Session("win32"),
    "macos": Session("darwin"),
    "x11": Session("linux", ":0", False, ""),
    "gnome-x11": Session("linux", ":0", False, "ubuntu:gnome"),
    "gnome-wayland": Session("linux", ":0", True, "ubuntu:gnome"),
    "kde-wayland": Session("linux", ":1", True, "kde"),
    "headless": Session("linux"),
}


def chosen(name: str, home: Path) -> PcSignals:
    return for_this_pc(SESSIONS[name], home)


def parts(reader: Reader[Any]) -> list[str]:
    return [p.kind for p in reader.parts()]


def declared() -> dict[str, str]:
    for module in pkgutil.iter_modules(signals_package.__path__):  # every reader module, loaded
        importlib.import_module(f"{signals_package.__name__}.{module.name}")
    return DECLARED


def test_every_declared_reader_is_chosen_on_some_os_or_desktop(tmp_path: Path) -> None:
    """A reader written but chosen nowhere fails here (and AppCore's test shows it passes what is chosen)."""
    used = set().union(*(chosen(name, tmp_path).kinds() for name in SESSIONS))
    assert used == set(declared())
    assert len(DECLARED) >= 9


def test_the_readers_by_os_and_desktop(tmp_path: Path) -> None:
    win = chosen("windows", tmp_path)
    assert (parts(win.idle), parts(win.steam), parts(win.fullscreen)) == (
        ["windows-last-input"], ["steam-windows-registry"], ["windows-notification-state"])
    x11 = chosen("gnome-x11", tmp_path)
    assert parts(x11.idle) == ["x11-screensaver", "gnome-idle-monitor"]  # X11 first, GNOME's monitor behind it
    assert (parts(x11.steam), parts(x11.fullscreen)) == (["steam-registry-vdf"], ["x11-fullscreen"])
    # Wayland: only the compositor sees all input; games under Xwayland are still X11 windows
    assert parts(chosen("gnome-wayland", tmp_path).idle) == ["gnome-idle-monitor"]
    assert parts(chosen("kde-wayland", tmp_path).idle) == ["freedesktop-screensaver"]
    assert parts(chosen("kde-wayland", tmp_path).fullscreen) == ["x11-fullscreen"]
    assert parts(chosen("x11", tmp_path).idle) == ["x11-screensaver", "freedesktop-screensaver"]
    mac = chosen("macos", tmp_path)
    assert isinstance(mac.idle, Unknown) and mac.kinds() == {"process-names"}


def test_the_session_is_read_from_the_desktop_environment() -> None:
    wayland = Session.read("linux", {"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0", "XDG_CURRENT_DESKTOP": "KDE"})
    assert (wayland.wayland, wayland.desktop, wayland.words()) == (True, "kde", "a KDE Wayland session")
    x11 = Session.read("linux", {"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0", "WAYLAND_DISPLAY": ""})
    assert (x11.wayland, x11.words()) == (False, "an X11 session".replace("an ", "a "))
    assert Session.read("linux", {"WAYLAND_DISPLAY": "wayland-0"}).wayland
    assert Session.read("linux", {}).words() == "a session without a desktop"


class Fixed(Reader[float | None]):
    kind = "test-fixed"

    def __init__(self, value: float | None) -> None:
        self.value = value

    def __call__(self) -> float | None:
        return self.value


def test_the_idle_rule_problem_names_the_desktop_and_what_was_tried(tmp_path: Path) -> None:
    assert idle_rule_problem(PcSignals(idle=Fixed(12.0))) == ""
    mac = chosen("macos", tmp_path)
    assert idle_rule_problem(mac) == ("Not available: FarNode cannot tell how long you have been away on "
                                      "macOS, so it cannot serve only while you are away")
    kde = for_this_pc(Session("linux", "", True, "kde"), tmp_path, bus=_no_bus)
    assert idle_rule_problem(kde) == (
        "Not available: FarNode cannot tell how long you have been away on a KDE Wayland session (it asked the "
        "desktop's screen saver service (org.freedesktop.ScreenSaver)), so it cannot serve only while you are away")


def _no_bus() -> Any:
    raise ConnectionRefusedError("no session bus")
