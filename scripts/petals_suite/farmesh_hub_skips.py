"""A pytest plugin for Petals main's own test suite run against a FarNode swarm: it marks the tests that download
from the Hugging Face hub as skipped, with that reason (this run is offline); it changes no test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# test file -> why its tests cannot run offline
NEEDS_HUB = {
    "test_peft.py": "needs the Hugging Face hub: downloads the adapter repo artek0chumak/bloom-560m-safe-peft",
}


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        reason = NEEDS_HUB.get(Path(str(item.fspath)).name)  # pytest 6 (Petals pins it): no item.path
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
