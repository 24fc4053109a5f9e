"""Shared fixtures: an isolated FarNode home per test and Qt forced offscreen unless a display is wanted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Qt aborts without a platform; tests that want the real X display (tray tests) set FARNODE_TEST_DISPLAY.
if not os.environ.get("FARNODE_TEST_DISPLAY"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"


@pytest.fixture
def farnode_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every FarNode folder at a temporary directory for the test."""
    home = tmp_path / "farnode-home"
    home.mkdir()
    monkeypatch.setenv("FARNODE_HOME", str(home))
    yield home
