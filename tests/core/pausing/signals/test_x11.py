"""The X11 readers against a real X server (Xvfb + openbox): idle time rises and resets with real input (xdotool),
and a real full-screen window in front is seen, while a normal window or one behind is not."""

from __future__ import annotations

import ctypes
import time
from collections.abc import Iterator

import pytest

from farnode_desktop.core.pausing.signals.x11 import X11Display, X11Fullscreen, X11Idle
from tests.core.pausing.signals.xdesktop import XDesktop, have_tools, x_desktop

pytestmark = pytest.mark.skipif(bool(have_tools()), reason=have_tools() or "")


@pytest.fixture(scope="module")
def desk() -> Iterator[XDesktop]:
    with x_desktop() as d:
        yield d


def test_idle_time_rises_without_input_and_resets_with_real_mouse_and_keyboard_input(desk: XDesktop) -> None:
    idle = X11Idle(X11Display(desk.display))
    desk.xdotool("mousemove", "10", "10")
    first = idle()
    assert first is not None and first < 1.0
    time.sleep(1.5)
    later = idle()
    assert later is not None and later >= 1.4
    desk.xdotool("mousemove", "200", "300")
    moved = idle()
    assert moved is not None and moved < 0.5
    time.sleep(1.0)
    desk.xdotool("key", "shift")
    typed = idle()
    assert typed is not None and typed < 0.5


def test_a_full_screen_window_in_front_is_named_by_its_class(desk: XDesktop) -> None:
    fullscreen = X11Fullscreen(X11Display(desk.display))
    assert fullscreen() is None  # an empty desktop
    with desk.window("TextEditor", fullscreen=False) as editor:
        assert fullscreen() is None  # a normal window in front is not a game
        with desk.window("StandInGame", fullscreen=True):
            assert fullscreen() == "StandInGame"
            desk.xdotool("windowactivate", "--sync", str(editor))
            assert fullscreen() is None  # the game is still full screen, but behind the editor
        time.sleep(0.2)  # the game is gone: the window manager hands focus back
        assert fullscreen() is None


def test_a_closed_active_window_does_not_end_the_app(desk: XDesktop) -> None:
    """Reading a window that closed between two requests raises BadWindow in X; the reader must just say None."""
    display = X11Display(desk.display)
    with desk.window("Flicker", fullscreen=True):
        assert display.fullscreen_window() == "Flicker"
    for _ in range(20):  # races the window manager updating _NET_ACTIVE_WINDOW
        assert display.fullscreen_window() in (None, "Flicker")
    assert display.idle_ms() is not None  # the connection still works


def test_no_display_or_no_extension_library_is_unknown_with_the_reason() -> None:
    nowhere = X11Display(":4999")
    assert X11Idle(nowhere)() is None and X11Fullscreen(nowhere)() is None
    assert nowhere.problem == "no X display could be opened"

    def without_libxss(name: str) -> ctypes.CDLL:
        if "Xss" in name:
            raise OSError(f"{name}: cannot open shared object file")
        return ctypes.CDLL(name)

    with x_desktop() as d:
        display = X11Display(d.display, load=without_libxss)
        assert X11Idle(display)() is None
        assert display.problem == "libXss (package libxss1) is not installed"
        with d.window("StandInGame", fullscreen=True):
            assert X11Fullscreen(display)() == "StandInGame"  # full screen needs only libX11


def test_closing_gives_the_connection_back_and_a_later_read_opens_it_again(desk: XDesktop) -> None:
    """An X server serves about 256 clients: 300 readers opened and closed in turn must all get one."""
    for _ in range(300):
        display = X11Display(desk.display)
        assert display.idle_ms() is not None, display.problem
        display.close()
    assert display.idle_ms() is not None  # reopened on demand
    display.close()


def test_an_x_server_that_goes_away_costs_a_reading_not_the_app() -> None:
    """Xlib exits the process when its server is lost (logout, a crash) unless told otherwise."""
    with x_desktop() as d:
        display = X11Display(d.display)
        assert display.idle_ms() is not None
    # the server is gone: the next requests find the connection broken
    assert display.idle_ms() is None and display.fullscreen_window() is None
    assert display.problem in ("the X server went away", "no X display could be opened")
    assert not display.connected
