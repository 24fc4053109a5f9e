"""Fixtures for tests that run the real node runtime: the installed runtime and the tiny model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from farnode_desktop.core.node.factory import ensure_tiny_model
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.paths import AppPaths
from tests.runtime_env import ensure_runtime, runtime_dir_for_tests


@pytest.fixture(scope="session")
def runtime() -> NodeRuntime:
    os.environ["FARNODE_RUNTIME_DIR"] = str(runtime_dir_for_tests())
    return ensure_runtime()


@pytest.fixture(scope="session")
def tiny_model(runtime: NodeRuntime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    paths = AppPaths.under(tmp_path_factory.mktemp("models-home"))
    return ensure_tiny_model(paths, runtime)
