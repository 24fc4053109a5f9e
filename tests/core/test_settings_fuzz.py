"""Fuzz tests of the settings file (Hypothesis): whatever settings.json holds, loading gives usable settings (the
defaults where a value is unusable, the file kept aside with a plain reason), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farnode_desktop.core.settings import Settings, SettingsStore
from tests.hostile_inputs import file_contents


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("settings-fuzz")


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(content=file_contents(Settings().to_json()), name=st.integers(0, 10**9))
def test_any_settings_file_loads_to_usable_settings(folder: Path, content: bytes, name: int) -> None:
    path = folder / f"settings-{name}.json"
    path.write_bytes(content)
    store = SettingsStore(path)
    loaded = store.load()
    loaded.validate()  # what came back is always settings FarNode can run with
    if store.problem is not None:
        assert str(path) in store.problem and "Traceback" not in store.problem
