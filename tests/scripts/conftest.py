"""The carried wheel folders, built once per test session (downloads come from pip's cache after the first run)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def device_wheels() -> ModuleType:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import device_wheels as module
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return module


@pytest.fixture(scope="session")
def wheels_312(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The set the lent image gets: Python 3.12, manylinux x86-64."""
    folder = tmp_path_factory.mktemp("device-wheels") / "cp312"
    device_wheels().build(folder, "3.12")
    yield folder


@pytest.fixture(scope="session")
def wheels_311(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The same set for this machine's runtime Python (3.11): the device mode's CPU form."""
    folder = tmp_path_factory.mktemp("device-wheels") / "cp311"
    device_wheels().build(folder, "3.11")
    yield folder
