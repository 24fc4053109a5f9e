"""X11 readers over ctypes: idle time from the MIT-SCREEN-SAVER extension, a full-screen active window from EWMH."""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Callable
from ctypes import POINTER, byref, c_char_p, c_int, c_long, c_ubyte, c_ulong, c_void_p

from farnode_desktop.core.pausing.signals.reader import Reader

XA_ATOM = 4
XA_STRING = 31
XA_WINDOW = 33
ANY_PROPERTY_TYPE = 0


class XScreenSaverInfo(ctypes.Structure):
    """scrnsaver.h's XScreenSaverInfo: `idle` is milliseconds since the last input on any device."""

    _fields_ = [("window", c_ulong), ("state", c_int), ("kind", c_int), ("til_or_since", c_ulong),
                ("idle", c_ulong), ("event_mask", c_ulong)]  # fmt: skip


_ERROR_HANDLER = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p)
_IO_ERROR_HANDLER = ctypes.CFUNCTYPE(c_int, c_void_p)
_IO_ERROR_EXIT_HANDLER = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)
_BROKEN: set[int] = set()  # connections whose X server went away (logout, a crashed server)


def _ignore_x_error(_display: int | None, _event: int | None) -> int:
    return 0  # a window that closed between two requests (BadWindow) must not end the app, as Xlib's default would


def _connection_lost(display: int | None) -> int:
    if display:
        _BROKEN.add(display)
    return 0


def _stay_alive(display: int | None, _data: int | None) -> None:
    if display:  # Xlib would exit(1) here: a lost X server must cost a reading, not the app
        _BROKEN.add(display)


_IGNORE = _ERROR_HANDLER(_ignore_x_error)
_LOST = _IO_ERROR_HANDLER(_connection_lost)
_STAY = _IO_ERROR_EXIT_HANDLER(_stay_alive)


class X11Display:
    """One connection to the X server (libX11 + libXss through ctypes), opened on first use; None when there is none.

    `load` is the library loader (ctypes.CDLL): the boundary a test replaces to act as a machine without libXss.
    """

    def __init__(self, name: str | None = None, load: Callable[[str], ctypes.CDLL] = ctypes.CDLL) -> None:
        self._name = name
        self._load = load
        self._lock = threading.Lock()
        self._opened = False
        self._dpy: int | None = None
        self._x: ctypes.CDLL | None = None
        self._xss: ctypes.CDLL | None = None
        self._atoms: dict[str, int] = {}
        self.problem = ""  # why it is unavailable, in words

    def _open(self) -> int | None:
        if self._opened:
            return self._dpy
        self._opened = True
        try:
            x = self._load("libX11.so.6")
        except OSError:
            self.problem = "libX11 is not installed"
            return None
        x.XOpenDisplay.restype, x.XOpenDisplay.argtypes = c_void_p, [c_char_p]
        x.XDefaultRootWindow.restype, x.XDefaultRootWindow.argtypes = c_ulong, [c_void_p]
        x.XInternAtom.restype, x.XInternAtom.argtypes = c_ulong, [c_void_p, c_char_p, c_int]
        x.XGetWindowProperty.restype = c_int
        x.XGetWindowProperty.argtypes = [c_void_p, c_ulong, c_ulong, c_long, c_long, c_int, c_ulong,
                                         POINTER(c_ulong), POINTER(c_int), POINTER(c_ulong), POINTER(c_ulong),
                                         POINTER(POINTER(c_ubyte))]  # fmt: skip
        x.XFree.argtypes = [c_void_p]
        x.XCloseDisplay.argtypes = [c_void_p]
        x.XSetErrorHandler.restype, x.XSetErrorHandler.argtypes = c_void_p, [_ERROR_HANDLER]
        x.XSetErrorHandler(_IGNORE)
        x.XSetIOErrorHandler.restype, x.XSetIOErrorHandler.argtypes = c_void_p, [_IO_ERROR_HANDLER]
        x.XSetIOErrorHandler(_LOST)
        dpy: int | None = x.XOpenDisplay(self._name.encode() if self._name else None)
        if not dpy:
            self.problem = "no X display could be opened"
            return None
        if not hasattr(x, "XSetIOErrorExitHandler"):  # libX11 < 1.7: a lost server would end the app
            x.XCloseDisplay(dpy)
            self.problem = "libX11 is older than 1.7 (it cannot survive the X server going away)"
            return None
        x.XSetIOErrorExitHandler.argtypes = [c_void_p, _IO_ERROR_EXIT_HANDLER, c_void_p]
        x.XSetIOErrorExitHandler(dpy, _STAY, None)
        self._x, self._dpy = x, dpy
        try:
            xss = self._load("libXss.so.1")
            xss.XScreenSaverQueryExtension.restype = c_int
            xss.XScreenSaverQueryExtension.argtypes = [c_void_p, POINTER(c_int), POINTER(c_int)]
            xss.XScreenSaverQueryInfo.restype = c_int
            xss.XScreenSaverQueryInfo.argtypes = [c_void_p, c_ulong, POINTER(XScreenSaverInfo)]
            event_base, error_base = c_int(), c_int()
            if xss.XScreenSaverQueryExtension(dpy, byref(event_base), byref(error_base)):
                self._xss = xss
            else:
                self.problem = "the X server has no MIT-SCREEN-SAVER extension"
        except OSError:
            self.problem = "libXss (package libxss1) is not installed"
        return dpy

    @property
    def connected(self) -> bool:
        return self._dpy is not None

    def close(self) -> None:
        """Close the connection (an X server serves a limited number of clients); the next read opens it again."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._dpy is not None and self._x is not None:
            self._x.XCloseDisplay(self._dpy)  # also frees a connection whose server went away
            _BROKEN.discard(self._dpy)
        self._dpy, self._x, self._xss, self._opened = None, None, None, False
        self._atoms.clear()

    def _lost(self) -> bool:
        """The X server went away since the last request: drop the connection (a later read tries again)."""
        if self._dpy is None or self._dpy not in _BROKEN:
            return False
        self._close()
        self.problem = "the X server went away"
        return True

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit ctypes may already be gone
            self.close()

    def idle_ms(self) -> int | None:
        """Milliseconds since the last keyboard or mouse input (MIT-SCREEN-SAVER); None when it cannot be read."""
        with self._lock:
            dpy = self._open()
            if dpy is None or self._x is None or self._xss is None:
                return None
            info = XScreenSaverInfo()
            ok = self._xss.XScreenSaverQueryInfo(dpy, self._x.XDefaultRootWindow(dpy), byref(info))
            if self._lost() or not ok:
                return None
            idle: int = info.idle
            return idle

    def fullscreen_window(self) -> str | None:
        """The active window's class when it is full screen (_NET_WM_STATE_FULLSCREEN), else None."""
        with self._lock:
            dpy = self._open()
            if dpy is None or self._x is None:
                return None
            root = self._x.XDefaultRootWindow(dpy)
            active = self._longs(root, "_NET_ACTIVE_WINDOW", XA_WINDOW)
            if self._lost() or not active or not active[0]:
                return None
            window = active[0]
            states = self._longs(window, "_NET_WM_STATE", XA_ATOM)
            if self._atom("_NET_WM_STATE_FULLSCREEN") not in states:
                return None
            name = self._wm_class(window) or "a full-screen window"
            return None if self._lost() else name

    def _atom(self, name: str) -> int:
        if name not in self._atoms:
            assert self._x is not None
            self._atoms[name] = int(self._x.XInternAtom(self._dpy, name.encode(), 0))
        return self._atoms[name]

    def _property(self, window: int, name: str, kind: int) -> tuple[int, bytes] | None:
        """A window property's format and raw bytes (format 32 items are C longs); None when absent."""
        assert self._x is not None
        actual_type, actual_format = c_ulong(), c_int()
        items, after = c_ulong(), c_ulong()
        data = POINTER(c_ubyte)()
        status = self._x.XGetWindowProperty(self._dpy, window, self._atom(name), 0, 1024, 0, kind,
                                            byref(actual_type), byref(actual_format), byref(items), byref(after),
                                            byref(data))  # fmt: skip
        if status != 0 or not data:
            return None
        try:
            size = {8: 1, 16: ctypes.sizeof(ctypes.c_short), 32: ctypes.sizeof(c_long)}.get(actual_format.value, 0)
            return actual_format.value, ctypes.string_at(data, size * items.value)
        finally:
            self._x.XFree(data)

    def _longs(self, window: int, name: str, kind: int) -> list[int]:
        found = self._property(window, name, kind)
        if found is None or found[0] != 32:
            return []
        raw = found[1]
        return list((c_ulong * (len(raw) // ctypes.sizeof(c_ulong))).from_buffer_copy(raw))

    def _wm_class(self, window: int) -> str:
        found = self._property(window, "WM_CLASS", XA_STRING)
        if found is None:
            return ""
        parts = [p.decode("utf-8", "replace") for p in found[1].split(b"\0") if p]
        return parts[-1] if parts else ""  # instance\0Class\0: the class names the program


class X11Idle(Reader[float | None]):
    """Seconds since the last keyboard or mouse input on an X11 desktop."""

    kind = "x11-screensaver"
    what = "the X11 screen saver extension (MIT-SCREEN-SAVER)"

    def __init__(self, display: X11Display) -> None:
        self.display = display

    def __call__(self) -> float | None:
        ms = self.display.idle_ms()
        return None if ms is None else ms / 1000.0

    def close(self) -> None:
        self.display.close()


class X11Fullscreen(Reader[str | None]):
    """The program whose window is full screen and in front on an X11 desktop (None: none is)."""

    kind = "x11-fullscreen"
    what = "the X11 active window's full-screen state (_NET_WM_STATE_FULLSCREEN)"

    def __init__(self, display: X11Display) -> None:
        self.display = display

    def __call__(self) -> str | None:
        return self.display.fullscreen_window()

    def close(self) -> None:
        self.display.close()
