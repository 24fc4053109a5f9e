"""Start FarNode at login: the per-user Run key on Windows, an XDG autostart entry on Linux, a LaunchAgent on macOS."""

from __future__ import annotations

import importlib
import os
import plistlib
import shlex
import sys
from pathlib import Path
from typing import Any, Protocol

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.errors import FarNodeError

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
VALUE_NAME = "FarNode Desktop"
DESKTOP_FILE = "farnode.desktop"
LAUNCH_AGENT = "com.farlabs.farnode.plist"


class RegistryWriter(Protocol):
    """The slice of HKEY_CURRENT_USER that autostart touches (winreg on Windows, a dict in tests)."""

    def get(self, key: str, name: str) -> str | None: ...

    def set(self, key: str, name: str, value: str) -> None: ...

    def delete(self, key: str, name: str) -> None: ...


def _winreg() -> Any:
    return importlib.import_module("winreg")


class WinRegistry:
    """HKCU through winreg (Windows only)."""

    def get(self, key: str, name: str) -> str | None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as k:
                return str(winreg.QueryValueEx(k, name)[0])
        except OSError:
            return None

    def set(self, key: str, name: str, value: str) -> None:
        winreg = _winreg()

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, key) as k:
            winreg.SetValueEx(k, name, 0, winreg.REG_SZ, value)

    def delete(self, key: str, name: str) -> None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as k:
                winreg.DeleteValue(k, name)
        except FileNotFoundError:
            pass


def launch_command() -> list[str]:
    """What starts the tray app: the frozen executable itself, or this Python running `farnode app`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "app", "--minimized"]
    return [sys.executable, "-m", "farnode_desktop", "app", "--minimized"]


def _windows_command(argv: list[str]) -> str:
    return " ".join(f'"{a}"' if (" " in a or not a) else a for a in argv)


class Autostart:
    """Turns start-at-login on and off for this user; `platform` and the folders are injectable for tests."""

    def __init__(self, *, platform: str | None = None, command: list[str] | None = None,
                 registry: RegistryWriter | None = None, config_home: Path | None = None,
                 home: Path | None = None) -> None:
        self.platform = platform or sys.platform
        self.command = command or launch_command()
        self._registry = registry
        self._config_home = config_home
        self._home = home or Path.home()

    # -- where the entry lives ------------------------------------------------------------------------
    @property
    def desktop_entry(self) -> Path:
        base = self._config_home or Path(os.environ.get("XDG_CONFIG_HOME") or self._home / ".config")
        return base / "autostart" / DESKTOP_FILE

    @property
    def launch_agent(self) -> Path:
        return self._home / "Library" / "LaunchAgents" / LAUNCH_AGENT

    def registry(self) -> RegistryWriter:
        if self._registry is None:
            if self.platform != "win32":
                raise FarNodeError("the Windows registry is only reachable on Windows")
            self._registry = WinRegistry()
        return self._registry

    # -- the switch -----------------------------------------------------------------------------------
    def is_enabled(self) -> bool:
        if self.platform == "win32":
            return self.registry().get(RUN_KEY, VALUE_NAME) is not None
        if self.platform == "darwin":
            return self.launch_agent.exists()
        return self.desktop_entry.exists()

    def set_enabled(self, enabled: bool) -> None:
        self.enable() if enabled else self.disable()

    def enable(self) -> None:
        try:
            if self.platform == "win32":
                self.registry().set(RUN_KEY, VALUE_NAME, _windows_command(self.command))
            elif self.platform == "darwin":
                body = plistlib.dumps({"Label": "com.farlabs.farnode", "ProgramArguments": self.command,
                                       "RunAtLoad": True, "ProcessType": "Interactive"})
                write_atomic(self.launch_agent, body, mode=0o644)
            else:
                write_atomic(self.desktop_entry, self.desktop_text(), mode=0o644)
        except OSError as exc:
            raise FarNodeError(f"could not turn on start at login: {exc}",
                               hint="check that your user can write its autostart folder") from None

    def disable(self) -> None:
        try:
            if self.platform == "win32":
                self.registry().delete(RUN_KEY, VALUE_NAME)
            elif self.platform == "darwin":
                self.launch_agent.unlink(missing_ok=True)
            else:
                self.desktop_entry.unlink(missing_ok=True)
        except OSError as exc:
            raise FarNodeError(f"could not turn off start at login: {exc}") from None

    def desktop_text(self) -> str:
        """The XDG autostart entry (Desktop Entry Specification; Exec quoted per its rules)."""
        exec_line = " ".join(shlex.quote(a) for a in self.command)
        return (
            "[Desktop Entry]\n"
            "Type=Application\n"
            "Name=FarNode\n"
            "Comment=Serve FarMesh blocks from your GPU and get paid\n"
            f"Exec={exec_line}\n"
            "Icon=farnode\n"
            "Terminal=false\n"
            "Categories=Network;\n"
            "X-GNOME-Autostart-enabled=true\n"
        )
