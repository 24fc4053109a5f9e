"""Which signal readers this PC gets, by OS and desktop session, and what the idle rule can rely on here."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farnode_desktop.core.pausing.signals.dbus_idle import BusConnection, MutterIdle, ScreenSaverIdle, session_bus
from farnode_desktop.core.pausing.signals.processes import RunningPrograms
from farnode_desktop.core.pausing.signals.reader import FirstAnswer, Reader, Unknown, kinds
from farnode_desktop.core.pausing.signals.steam_vdf import SteamVdf
from farnode_desktop.core.pausing.signals.windows import SteamRegistry, WindowsFullscreen, WindowsIdle
from farnode_desktop.core.pausing.signals.x11 import X11Display, X11Fullscreen, X11Idle


@dataclass(frozen=True)
class PcSignals:
    """Every reader games first takes: idle seconds, Steam's running app id, the full-screen app in front, and the
    running programs. A slot this desktop cannot fill holds Unknown (its reading stays None)."""

    idle: Reader[float | None] = field(default_factory=Unknown)
    steam: Reader[int | None] = field(default_factory=Unknown)
    fullscreen: Reader[str | None] = field(default_factory=Unknown)
    programs: Reader[frozenset[str]] = field(default_factory=RunningPrograms)
    desktop: str = ""  # in words: "an X11 session", "a GNOME Wayland session"

    def readers(self) -> dict[str, Reader[Any]]:
        return {"idle": self.idle, "steam": self.steam, "fullscreen": self.fullscreen, "programs": self.programs}

    def kinds(self) -> frozenset[str]:
        return kinds(self.readers().values())

    def close(self) -> None:
        """Close every reader's connection (AppCore's shutdown; a later reading opens it again)."""
        for reader in self.readers().values():
            reader.close()


@dataclass(frozen=True)
class Session:
    """The desktop session, read from the environment a desktop sets for its programs."""

    platform: str
    display: str = ""  # X11's DISPLAY (also set under Wayland when Xwayland runs)
    wayland: bool = False
    desktop: str = ""  # XDG_CURRENT_DESKTOP, lowercase: "gnome", "kde", "ubuntu:gnome"

    @classmethod
    def read(cls, platform: str = sys.platform, environ: Mapping[str, str] = os.environ) -> Session:
        kind = environ.get("XDG_SESSION_TYPE", "").lower()
        return cls(platform, environ.get("DISPLAY", ""),
                   kind == "wayland" or (bool(environ.get("WAYLAND_DISPLAY")) and kind != "x11"),
                   environ.get("XDG_CURRENT_DESKTOP", "").lower())

    def words(self) -> str:
        if self.platform == "win32":
            return "Windows"
        if self.platform == "darwin":
            return "macOS"
        desk = "GNOME " if "gnome" in self.desktop else "KDE " if "kde" in self.desktop else ""
        if self.wayland:
            return f"a {desk}Wayland session"
        return f"a {desk}X11 session" if self.display else "a session without a desktop"


def for_this_pc(session: Session | None = None, home: Path | None = None,
                bus: Callable[[], BusConnection] = session_bus) -> PcSignals:
    """The readers for this OS and desktop. X11's extension sees every input only on X11 itself; under Wayland only
    the compositor does (GNOME and KDE answer over D-Bus). Games under Xwayland still show as X11 windows."""
    s = session or Session.read()
    home = home or Path.home()
    if s.platform == "win32":
        return PcSignals(WindowsIdle(), SteamRegistry(), WindowsFullscreen(), desktop=s.words())
    if s.platform == "darwin":
        return PcSignals(desktop=s.words())
    display = X11Display(s.display) if s.display else None
    session_idle: list[Reader[float | None]] = []
    if "gnome" in s.desktop or "unity" in s.desktop or "budgie" in s.desktop:
        session_idle.append(MutterIdle(bus))
    else:  # KDE Plasma, and the desktops whose screen saver daemon offers the freedesktop interface
        session_idle.append(ScreenSaverIdle(bus))
    if not s.wayland and display is not None:
        idle: Reader[float | None] = FirstAnswer([X11Idle(display), *session_idle])
    else:
        idle = FirstAnswer(session_idle) if session_idle else Unknown()
    fullscreen: Reader[str | None] = X11Fullscreen(display) if display is not None else Unknown()
    return PcSignals(idle, SteamVdf(home), fullscreen, desktop=s.words())


def idle_rule_problem(signals: PcSignals) -> str:
    """Why "serve only while I am away" cannot work on this desktop ("" when idle time can be read)."""
    if signals.idle() is not None:
        return ""
    if not signals.idle.parts():
        return (f"Not available: FarNode cannot tell how long you have been away on {signals.desktop}, so it "
                "cannot serve only while you are away")
    tried = " and ".join(p.what for p in signals.idle.parts())
    return (f"Not available: FarNode cannot tell how long you have been away on {signals.desktop} (it asked "
            f"{tried}), so it cannot serve only while you are away")
