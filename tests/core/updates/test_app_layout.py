"""The app folder's state: each change one atomic write, a damaged state starts the installed version, the previous
version kept for one rollback, versions compared as numbers, and the launcher's folder is the core's."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.app_layout import (
    RELEASE_FILE,
    STATE_FILE,
    AppRoot,
    AppState,
    LayoutError,
    default_root,
    installed_root,
    newer,
)


def unpacked(root: AppRoot, version: str) -> None:
    folder = root.version_dir(version)
    folder.mkdir(parents=True)
    (folder / "farnode").write_text("#!/bin/sh\n")
    (folder / RELEASE_FILE).write_text(f'{{"version": "{version}", "entry": "farnode"}}')


def test_versions_compare_as_numbers() -> None:
    assert newer("0.10.0", "0.9.9") and newer("1.0", "0.99") and not newer("0.2", "0.2.0")
    assert not newer("0.2.0-evil", "0.1.0") and not newer("0.3", "../0.1")


def test_stage_apply_confirm_and_one_rollback(tmp_path: Path) -> None:
    root = AppRoot(tmp_path / "app", "0.1.0")
    with pytest.raises(LayoutError):
        root.stage("0.2.0")  # nothing unpacked yet
    for version in ("0.2.0", "0.3.0"):
        unpacked(root, version)
        root.stage(version)
        state = root.apply_staged()
        assert state.current == version and state.trial == {"version": version, "attempts": 0}
        root.confirm(version)
    assert root.read() == AppState(current="0.3.0", previous="0.2.0")
    assert root.kept() == ["0.2.0", "0.3.0"]
    back = root.roll_back("asked")
    assert back.current == "0.2.0" and back.previous is None and back.refused == ["0.3.0"]
    assert root.roll_back("again").current is None  # then the installed version, never further
    with pytest.raises(LayoutError, match="nothing older"):
        root.roll_back("once more")


def test_a_damaged_state_or_version_starts_the_installed_one(tmp_path: Path) -> None:
    root = AppRoot(tmp_path / "app", "0.1.0")
    root.folder.mkdir(parents=True)
    (root.folder / STATE_FILE).write_text('{"current": "../../bin"')
    assert root.read() == AppState()
    (root.folder / STATE_FILE).write_text('{"current": "0.2.0", "trial": "yes", "refused": ["x", "0.3"]}')
    state = root.read()
    assert state.current == "0.2.0" and state.trial is None and state.refused == ["0.3"]
    assert not root.startable("0.2.0")  # not unpacked
    unpacked(root, "0.2.0")
    (root.version_dir("0.2.0") / RELEASE_FILE).write_text('{"version": "0.2.0", "entry": "../../../bin/sh"}')
    assert not root.startable("0.2.0")  # an entry outside its folder
    unpacked(root, "0.2.1")
    assert root.startable("0.2.1") and not AppRoot(root.folder, "0.3.0").startable("0.2.1")  # a newer package wins


def test_the_launcher_finds_the_folder_the_core_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_APP_ROOT", raising=False)
    monkeypatch.setenv("FARNODE_HOME", str(tmp_path))
    assert default_root() == AppPaths.default().data / "app"
    monkeypatch.delenv("FARNODE_HOME")
    assert default_root() == AppPaths.default().data / "app"  # platformdirs' folder, computed without it
    assert installed_root("0.1.0", {}) is None  # a source checkout
    found = installed_root("0.2.0", {"FARNODE_APP_ROOT": str(tmp_path), "FARNODE_INSTALLED_VERSION": "0.1.0"})
    assert found is not None and found.folder == tmp_path and found.installed_version == "0.1.0"
