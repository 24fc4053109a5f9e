"""`farnode runtime check` where no runtime is installed: a plain NOT OK and exit 1, in text and JSON; the runtime
the commands pick (its folder and base Python); no torch-build choice is left to make."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from farnode_desktop.cli import main
from farnode_desktop.cli.runtime_cmd import _runtime
from farnode_desktop.core.node.runtime_lock import unified_lock_name


@pytest.fixture
def no_runtime(farnode_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("FARNODE_RUNTIME_DIR", raising=False)
    return farnode_home / "data" / "runtime"


def test_check_without_a_runtime_says_not_ok_and_what_to_do(no_runtime: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runtime", "check"]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == f"node runtime at {no_runtime}: NOT OK"
    assert "problem: the node runtime is not installed (run `farnode runtime install`)" in captured.err
    assert not no_runtime.exists()  # checking installs nothing


def test_check_json_is_the_same_report(no_runtime: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runtime", "check", "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is False and body["installed"] is False and body["location"] == str(no_runtime)
    assert body["problems"] == ["the node runtime is not installed (run `farnode runtime install`)"]


def test_the_runtime_folder_and_python_the_commands_pick(no_runtime: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    picked = _runtime(argparse.Namespace(python=None))
    assert (picked.location, picked.lock.name) == (no_runtime, unified_lock_name())  # the one lock, GPU or not
    monkeypatch.setenv("FARNODE_RUNTIME_DIR", str(tmp_path / "elsewhere"))
    assert _runtime(argparse.Namespace(python="/usr/bin/python3.11")).base_python == "/usr/bin/python3.11"
    assert _runtime(argparse.Namespace()).location == tmp_path / "elsewhere"

