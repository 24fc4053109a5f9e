"""The runtime's verdict on a model folder is asked once per (folder, config.json, lock) and remembered: later starts
do not run it again, a changed config does. Here the "runtime" is this test's own Python (no transformers: only the
stdlib rules answer), run for real through `mesh/check_model.py`; tests/integration/test_model_refusal.py uses the
real node runtime and its transformers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.node.model_check import CACHE_FILE, ModelChecks, refuse_unloadable
from farnode_desktop.core.node.runtime import MARKER, NodeRuntime
from farnode_desktop.core.paths import AppPaths

GOOD = {"model_type": "llama", "num_hidden_layers": 4, "hidden_size": 64, "num_attention_heads": 4}


def stand_in_runtime(tmp_path: Path) -> NodeRuntime:
    """A runtime folder marked installed whose python is this interpreter."""
    runtime = NodeRuntime(tmp_path / "runtime")
    runtime.python.parent.mkdir(parents=True)
    runtime.python.symlink_to(sys.executable)
    (runtime.location / MARKER).write_text(json.dumps({"lock_sha256": runtime.lock_digest()}))
    return runtime


def break_python(runtime: NodeRuntime) -> None:
    runtime.python.unlink()
    runtime.python.write_text("#!/bin/sh\necho 'this python is broken' >&2\nexit 1\n")
    runtime.python.chmod(0o755)


def model(tmp_path: Path, config: dict[str, object]) -> Path:
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_the_verdict_is_remembered_until_the_config_changes(tmp_path: Path) -> None:
    runtime, paths = stand_in_runtime(tmp_path), AppPaths.under(tmp_path / "home").ensure()
    folder = model(tmp_path, GOOD)
    checks = ModelChecks(runtime, paths)
    assert checks.known(folder) is None
    assert checks.verdict(folder).ok
    assert (paths.cache / CACHE_FILE).exists()
    break_python(runtime)  # a second ask would now fail: the remembered verdict is used instead
    assert ModelChecks(runtime, paths).verdict(folder).ok
    refuse_unloadable(str(folder), paths, runtime)
    stat = (folder / "config.json").stat()
    os.utime(folder / "config.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert checks.known(folder) is None  # a changed config is judged again
    with pytest.raises(FarNodeError, match="could not check the model") as err:
        checks.verdict(folder)
    assert "this python is broken" in str(err.value)


def test_a_refusal_carries_the_runtimes_reason_and_is_remembered_too(tmp_path: Path) -> None:
    runtime, paths = stand_in_runtime(tmp_path), AppPaths.under(tmp_path / "home").ensure()
    folder = model(tmp_path, {**GOOD, "model_type": "gpt2"})
    with pytest.raises(UserInputError, match="cannot serve models of type 'gpt2'") as err:
        refuse_unloadable(str(folder), paths, runtime)
    assert f"FarNode cannot serve the model in {str(folder.resolve())!r}" in str(err.value)
    break_python(runtime)
    with pytest.raises(UserInputError, match="'gpt2'"):
        ModelChecks(runtime, paths).require(folder)


def test_names_and_a_missing_runtime_are_left_to_the_launch(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "home").ensure()
    missing = NodeRuntime(tmp_path / "no-runtime")
    refuse_unloadable(str(model(tmp_path, {"model_type": "gpt2"})), paths, missing)  # checked after the install
    refuse_unloadable("meta-llama/Llama-2-70b-chat-hf", paths, stand_in_runtime(tmp_path))
    assert not (paths.cache / CACHE_FILE).exists()
