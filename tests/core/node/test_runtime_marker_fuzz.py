"""Fuzz test of the node runtime's install marker (Hypothesis): whatever the marker file in the runtime folder holds,
the runtime is installed exactly when it is a JSON object naming this lock's digest, and never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from farnode_desktop.core.node.runtime import MARKER, NodeRuntime
from tests.hostile_inputs import file_contents


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> NodeRuntime:
    found = NodeRuntime(tmp_path_factory.mktemp("runtime-fuzz"))
    found.python.parent.mkdir(parents=True, exist_ok=True)
    found.python.write_text("")  # the interpreter's place is taken; only the marker decides
    return found


def test_the_marker_of_this_lock_means_installed(runtime: NodeRuntime) -> None:
    (runtime.location / MARKER).write_text(json.dumps({"lock_sha256": runtime.lock_digest()}))
    assert runtime.is_installed()


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(content=file_contents({"lock_sha256": "0" * 64}))
def test_any_marker_means_installed_only_when_it_names_this_lock(runtime: NodeRuntime, content: bytes) -> None:
    marker: Path = runtime.location / MARKER
    marker.write_bytes(content)
    try:
        names_this_lock = json.loads(content).get("lock_sha256") == runtime.lock_digest()
    except (ValueError, AttributeError, RecursionError):
        names_this_lock = False
    assert runtime.is_installed() is names_this_lock
