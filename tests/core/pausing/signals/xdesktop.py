"""A real X desktop for the X11 readers' tests and the games-first benchmark: Xvfb, openbox (an EWMH window manager
that sets _NET_ACTIVE_WINDOW and _NET_WM_STATE) and a stand-in game window made by a child process through libX11."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

# The stand-in game: an X client that asks for full screen as EWMH clients do (the state set before mapping), named
# by WM_CLASS, and then waits to be killed.
WINDOW_CODE = r"""
import ctypes, sys, time
from ctypes import c_char_p, c_int, c_long, c_ulong, c_void_p, POINTER
x = ctypes.CDLL("libX11.so.6")
x.XOpenDisplay.restype = c_void_p
x.XOpenDisplay.argtypes = [c_char_p]
x.XDefaultRootWindow.restype, x.XDefaultRootWindow.argtypes = c_ulong, [c_void_p]
x.XCreateSimpleWindow.restype = c_ulong
x.XCreateSimpleWindow.argtypes = [c_void_p, c_ulong, c_int, c_int, c_int, c_int, c_int, c_ulong, c_ulong]
x.XInternAtom.restype, x.XInternAtom.argtypes = c_ulong, [c_void_p, c_char_p, c_int]
x.XChangeProperty.argtypes = [c_void_p, c_ulong, c_ulong, c_ulong, c_int, c_int, c_void_p, c_int]
x.XMapRaised.argtypes = [c_void_p, c_ulong]
x.XFlush.argtypes = [c_void_p]
x.XStoreName.argtypes = [c_void_p, c_ulong, c_char_p]
name, fullscreen = sys.argv[1], sys.argv[2] == "1"
dpy = x.XOpenDisplay(None)
win = x.XCreateSimpleWindow(dpy, x.XDefaultRootWindow(dpy), 10, 10, 640, 480, 0, 0, 0)
wm_class = name.lower().encode() + b"\0" + name.encode() + b"\0"
x.XChangeProperty(dpy, win, x.XInternAtom(dpy, b"WM_CLASS", 0), 31, 8, 0, wm_class, len(wm_class))
x.XStoreName(dpy, win, name.encode())
if fullscreen:
    state = (c_ulong * 1)(x.XInternAtom(dpy, b"_NET_WM_STATE_FULLSCREEN", 0))
    x.XChangeProperty(dpy, win, x.XInternAtom(dpy, b"_NET_WM_STATE", 0), 4, 32, 0, state, 1)
x.XMapRaised(dpy, win)
x.XFlush(dpy)
print(win, flush=True)
while True:
    time.sleep(3600)
"""


@dataclass
class XDesktop:
    display: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display}

    def xdotool(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=self.env, check=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()

    def xprop(self, *args: str) -> str:
        return subprocess.run(["xprop", *args], env=self.env, capture_output=True, text=True, timeout=10).stdout

    def wait_managed(self, window: int, fullscreen: bool, timeout_s: float = 10.0) -> None:
        """Until the window manager has made `window` active and applied its full-screen state."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            active = self.xprop("-root", "_NET_ACTIVE_WINDOW").rsplit(" ", 1)[-1].strip()
            state = self.xprop("-id", str(window), "_NET_WM_STATE")
            if active.startswith("0x") and int(active, 16) == window and (
                    not fullscreen or "_NET_WM_STATE_FULLSCREEN" in state):
                return
            time.sleep(0.02)
        raise RuntimeError(f"the window manager did not make window {window} active")

    @contextlib.contextmanager
    def window(self, name: str, fullscreen: bool) -> Iterator[int]:
        """A stand-in game window, mapped and (once the window manager has it) active; closed on exit."""
        proc = subprocess.Popen([sys.executable, "-c", WINDOW_CODE, name, "1" if fullscreen else "0"],
                                env=self.env, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            window = int(proc.stdout.readline())
            self.xdotool("windowactivate", "--sync", str(window))
            self.wait_managed(window, fullscreen)
            yield window
        finally:
            proc.kill()
            proc.wait()


def have_tools() -> str:
    """What is missing to run a real X desktop here ("" when nothing)."""
    missing = [t for t in ("Xvfb", "openbox", "xdotool") if shutil.which(t) is None]
    return f"{', '.join(missing)} not installed (make setup installs them)" if missing else ""


@contextlib.contextmanager
def x_desktop() -> Iterator[XDesktop]:
    """Xvfb on a free display number with openbox managing it; both ended on exit."""
    read, write = os.pipe()  # Xvfb picks a free display itself and writes its number here (-displayfd)
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write,))
    os.close(write)
    wm: subprocess.Popen[bytes] | None = None
    try:
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        desk = XDesktop(f":{number}")
        wm = subprocess.Popen(["openbox", "--sm-disable"], env=desk.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=desk.env, capture_output=True,
                             text=True).stdout.find("window id") < 0:
            if time.monotonic() > deadline:
                raise RuntimeError("openbox did not take the display")
            time.sleep(0.05)
        yield desk
    finally:
        for proc in (wm, xvfb):
            if proc is not None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
