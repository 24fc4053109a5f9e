"""Where FarNode keeps its files: FARNODE_HOME puts everything under one folder, the platform's folders otherwise,
FARNODE_RUNTIME_DIR moves only the node runtime, and each node gets its own folder and log."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from farnode_desktop.core.paths import APP_AUTHOR, APP_NAME, AppPaths


def test_farnode_home_puts_every_folder_under_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARNODE_HOME", str(tmp_path))
    monkeypatch.delenv("FARNODE_RUNTIME_DIR", raising=False)
    paths = AppPaths.default()
    assert paths == AppPaths.under(tmp_path)
    assert (paths.data, paths.config, paths.logs, paths.cache) == (
        tmp_path / "data", tmp_path / "config", tmp_path / "logs", tmp_path / "cache")
    assert paths.config_file == tmp_path / "config" / "settings.json"
    assert paths.ledger_file == tmp_path / "data" / "ledger.sqlite3"
    assert paths.runtime == tmp_path / "data" / "runtime"
    assert paths.models == tmp_path / "data" / "models"
    assert paths.node_dir("gpu-1") == tmp_path / "data" / "nodes" / "gpu-1"
    assert paths.node_log("gpu-1") == tmp_path / "logs" / "node-gpu-1.log"


def test_without_farnode_home_the_platforms_own_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_HOME", raising=False)
    paths = AppPaths.default()
    assert paths.data == Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))
    assert paths.config == Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))
    assert paths.logs == Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))
    assert paths.cache == Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR))
    assert len({paths.data, paths.config, paths.logs, paths.cache}) == 4


def test_the_runtime_folder_can_live_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARNODE_RUNTIME_DIR", str(tmp_path / "shared-runtime"))
    assert AppPaths.under(tmp_path / "home").runtime == tmp_path / "shared-runtime"


def test_ensure_makes_the_folders_and_is_harmless_twice(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "new-home")
    assert paths.ensure() is paths
    paths.ensure()
    assert sorted(p.name for p in (tmp_path / "new-home").iterdir()) == ["cache", "config", "data", "logs"]
