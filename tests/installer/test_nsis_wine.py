"""The Windows installer, run: built by makensis from a stand-in app folder, installed silently (/S) under Wine into a
fresh prefix (one per test session), checked (files, Start menu, start-at-login when chosen, the uninstaller's entry),
then uninstalled silently, leaving nothing of FarNode but the settings the uninstaller promises to keep."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from farnode_desktop.core import autostart
from tests.installer.conftest import INSTALLER, ROOT, need_tools

UNINSTALL_KEY = r"Software\Microsoft\Windows\CurrentVersion\Uninstall\FarNode"
STAGED = ["FarNode.exe", "farnode-cli.exe", "_internal/resources/runtime/lock-linux-x86_64.txt"]


def _wine64() -> str | None:
    return shutil.which("wine64") or next((p for p in ("/usr/lib/wine/wine64",) if os.access(p, os.X_OK)), None)


@dataclass
class Wine:
    """A Wine prefix and the commands that run in it; the user's profile folder as Windows programs see it."""

    wine: str
    prefix: Path
    env: dict[str, str]

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self.wine, *argv], env=self.env, capture_output=True, text=True, timeout=timeout,
                                check=False)
        self.settle()
        return result

    def settle(self) -> None:
        """Wait until every program of the prefix has ended and wineserver has written the registry files."""
        subprocess.run([str(Path(self.wine).with_name("wineserver")), "-w"], env=self.env, timeout=120, check=False)

    @property
    def profile(self) -> Path:
        users = [p for p in (self.prefix / "drive_c" / "users").iterdir() if p.name.lower() != "public"]
        assert len(users) == 1, users
        return users[0]

    def windows_path(self, path: Path) -> str:
        return "C:\\" + str(path.relative_to(self.prefix / "drive_c")).replace("/", "\\")

    def values(self, key: str) -> dict[str, str] | None:
        """A key's string values from the prefix's user.reg (HKCU); None when the key does not exist."""
        text = (self.prefix / "user.reg").read_text(encoding="utf-8", errors="replace")
        header = "[" + key.replace("\\", "\\\\") + "]"
        found = next((m for m in re.finditer(r"^\[.*?\](?= \d+$| *$)", text, re.M)
                      if m.group(0).lower() == header.lower()), None)
        if found is None:
            return None
        body = text[found.end():].split("\n[", 1)[0]
        return {name.replace('\\\\', '\\'): value.replace('\\"', '"').replace("\\\\", "\\")
                for name, value in re.findall(r'^"((?:[^"\\]|\\.)*)"="((?:[^"\\]|\\.)*)"$', body, re.M)}


@pytest.fixture(scope="session")
def wine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wine]:
    found = _wine64()
    if found is None:
        pytest.skip("needs Wine's wine64 (Debian's wine64 8.0, installed by `make setup` via apt)")
    root = tmp_path_factory.mktemp("wine")
    (root / "home").mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root / "home"), "USER": "gamer",
           "WINEPREFIX": str(root / "prefix"), "WINEDEBUG": "-all",
           # no desktop menu files in HOME, no Mono/Gecko download prompts, no display needed for /S
           "WINEDLLOVERRIDES": "winemenubuilder.exe=d;mscoree,mshtml="}
    box = Wine(found, root / "prefix", env)
    boot = box.run("wineboot", "-i", timeout=300)
    assert (box.prefix / "user.reg").exists(), boot.stderr[-2000:]
    yield box
    subprocess.run([str(Path(found).with_name("wineserver")), "-k"], env=env, timeout=60, check=False)


@pytest.fixture(scope="session")
def installer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_tools("makensis")
    stage = tmp_path_factory.mktemp("stage")
    (stage / "FarNode.exe").write_bytes(b"stand-in for the frozen app\r\n")
    (stage / "farnode-cli.exe").write_bytes(b"stand-in for the frozen CLI\r\n")
    runtime = stage / "_internal" / "resources" / "runtime"
    runtime.mkdir(parents=True)
    shutil.copy(ROOT / "resources" / "runtime" / "lock-linux-x86_64.txt", runtime)
    output = tmp_path_factory.mktemp("nsis") / "FarNode-Setup.exe"
    built = subprocess.run([str(INSTALLER / "build_nsis.sh"), str(stage), str(output)], capture_output=True,
                           text=True, timeout=180, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    return output


def _install(wine: Wine, installer: Path, *options: str) -> Path:
    result = wine.run(str(installer), "/S", *options)
    assert result.returncode == 0, result.stderr[-2000:]
    return wine.profile / "AppData" / "Local" / "Programs" / "FarNode"


def _uninstall(wine: Wine, folder: Path) -> None:
    # the uninstaller copies itself to %TEMP% and runs from there; settle() waits for that copy to end
    result = wine.run(str(folder / "Uninstall FarNode.exe"), "/S")
    assert result.returncode == 0, result.stderr[-2000:]


def test_silent_install_then_uninstall_leaves_nothing_but_the_kept_settings(wine: Wine, installer: Path) -> None:
    folder = _install(wine, installer)
    for name in STAGED:
        assert (folder / name).is_file(), name
    assert (folder / "FarNode.exe").read_bytes() == b"stand-in for the frozen app\r\n"
    menu = wine.profile / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "FarNode"
    assert (menu / "FarNode.lnk").is_file() and (menu / "Uninstall FarNode.lnk").is_file()
    entry = wine.values(UNINSTALL_KEY)
    assert entry is not None
    assert entry["DisplayName"] == "FarNode Desktop" and entry["Publisher"] == "Far Labs"
    assert entry["InstallLocation"] == wine.windows_path(folder)
    assert entry["UninstallString"] == f'"{wine.windows_path(folder / "Uninstall FarNode.exe")}"'
    assert (folder / "Uninstall FarNode.exe").is_file()
    # not chosen: no start-at-login value
    assert autostart.VALUE_NAME not in (wine.values(autostart.RUN_KEY) or {})

    # what the app made meanwhile: the node runtime goes with the app, settings and history stay unless asked
    data = wine.profile / "AppData" / "Local" / "FarLabs" / "FarNode"
    (data / "runtime").mkdir(parents=True)
    (data / "runtime" / "farnode-runtime.json").write_text("{}")
    (data / "settings.json").write_text('{"model": "farlabs/tiny-demo"}')

    _uninstall(wine, folder)
    assert not folder.exists()
    assert not menu.exists()
    assert wine.values(UNINSTALL_KEY) is None
    assert not (data / "runtime").exists()
    assert (data / "settings.json").read_text() == '{"model": "farlabs/tiny-demo"}'
    left = [p for p in wine.profile.rglob("*") if "farnode" in p.name.lower() and p != data and data not in p.parents]
    assert left == []


def test_start_at_login_when_chosen_is_the_apps_run_value_and_goes_with_the_uninstall(
        wine: Wine, installer: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    frozen_args = autostart.launch_command()[1:]  # what the frozen app's own setting writes after its executable
    folder = _install(wine, installer, "/AUTOSTART")
    run = wine.values(autostart.RUN_KEY) or {}
    assert autostart.VALUE_NAME in run
    m = re.fullmatch(r'"([^"]+)" (.*)', run[autostart.VALUE_NAME])
    assert m, run[autostart.VALUE_NAME]
    assert [m.group(1), *m.group(2).split()] == [wine.windows_path(folder / "FarNode.exe"), *frozen_args]
    _uninstall(wine, folder)
    assert autostart.VALUE_NAME not in (wine.values(autostart.RUN_KEY) or {})
    assert not folder.exists() and wine.values(UNINSTALL_KEY) is None
