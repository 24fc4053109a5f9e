"""Start at login: a real XDG autostart file on Linux, the per-user Run key on Windows (through a registry writer)."""

from __future__ import annotations

import configparser
import plistlib
from pathlib import Path

import pytest

from farnode_desktop.core.autostart import RUN_KEY, VALUE_NAME, Autostart
from farnode_desktop.core.errors import FarNodeError


class DictRegistry:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def get(self, key: str, name: str) -> str | None:
        return self.values.get((key, name))

    def set(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


def test_linux_writes_and_removes_an_xdg_autostart_entry(tmp_path: Path) -> None:
    auto = Autostart(platform="linux", command=["/opt/Far Node/farnode", "app", "--minimized"],
                     config_home=tmp_path / "config")
    assert not auto.is_enabled()
    auto.enable()
    entry = tmp_path / "config" / "autostart" / "farnode.desktop"
    assert auto.is_enabled() and entry.exists()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(entry)
    desktop = parser["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Name"] == "FarNode"
    assert desktop["Exec"] == "'/opt/Far Node/farnode' app --minimized"
    assert entry.stat().st_mode & 0o777 == 0o644
    auto.disable()
    assert not entry.exists() and not auto.is_enabled()
    auto.disable()  # twice is fine


def test_linux_follows_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    auto = Autostart(platform="linux", command=["farnode"], home=tmp_path)
    auto.set_enabled(True)
    assert (tmp_path / "xdg" / "autostart" / "farnode.desktop").exists()


def test_windows_uses_the_per_user_run_key() -> None:
    registry = DictRegistry()
    auto = Autostart(platform="win32", command=[r"C:\Program Files\FarNode\FarNode.exe", "app", "--minimized"],
                     registry=registry)
    auto.enable()
    assert RUN_KEY == r"Software\Microsoft\Windows\CurrentVersion\Run"
    assert registry.values == {(RUN_KEY, VALUE_NAME): r'"C:\Program Files\FarNode\FarNode.exe" app --minimized'}
    assert auto.is_enabled()
    auto.disable()
    assert registry.values == {} and not auto.is_enabled()


def test_macos_writes_a_launch_agent(tmp_path: Path) -> None:
    auto = Autostart(platform="darwin", command=["/Applications/FarNode.app/Contents/MacOS/FarNode"], home=tmp_path)
    auto.enable()
    body = plistlib.loads(auto.launch_agent.read_bytes())
    assert body["RunAtLoad"] is True and body["ProgramArguments"] == ["/Applications/FarNode.app/Contents/MacOS/FarNode"]


def test_an_unwritable_folder_is_a_plain_error(tmp_path: Path) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(FarNodeError, match="could not turn on start at login"):
        Autostart(platform="linux", command=["farnode"], config_home=blocker).enable()
