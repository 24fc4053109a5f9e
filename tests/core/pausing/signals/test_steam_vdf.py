"""Steam's running game on Linux from registry.vdf files in the client's layout: playing, no game, no Steam."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from farnode_desktop.core.pausing.signals.steam_vdf import SteamVdf, parse_vdf, running_app_id

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "steam"


def install(home: Path, fixture: str, where: str = ".steam/registry.vdf", mtime: float | None = None) -> Path:
    path = home / where
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / fixture, path)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_the_running_game_is_read_and_followed_when_steam_rewrites_the_file(tmp_path: Path) -> None:
    reader = SteamVdf(tmp_path)
    assert reader() is None  # no Steam on this PC
    install(tmp_path, "registry_playing.vdf", mtime=1_000)
    assert reader() == 1245620
    install(tmp_path, "registry_idle.vdf", mtime=2_000)  # the game ended
    assert reader() == 0


def test_the_flatpak_client_counts_and_the_newest_file_wins(tmp_path: Path) -> None:
    install(tmp_path, "registry_idle.vdf", mtime=1_000)  # an old native install nobody runs
    install(tmp_path, "registry_playing.vdf", ".var/app/com.valvesoftware.Steam/.steam/registry.vdf", mtime=5_000)
    assert SteamVdf(tmp_path)() == 1245620


def test_a_broken_or_odd_file_is_unknown_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / ".steam/registry.vdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'"Registry" { "HKCU" { \xff\xfe "Software" {')
    assert SteamVdf(tmp_path)() is None
    tree = parse_vdf('// a comment\n"registry" { "hkcu" { "software" { "valve" { "steam" { "runningappid" "x" } } } } }')
    assert running_app_id(tree) is None  # not a number
    assert running_app_id(parse_vdf(FIXTURES.joinpath("registry_playing.vdf").read_text())) == 1245620
