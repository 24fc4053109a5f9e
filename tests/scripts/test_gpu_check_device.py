"""The GPU check's device mode end to end in its CPU form: an overlay runtime over this machine's node runtime
Python, made offline from the carried wheels (the same set, for Python 3.11), its own check, and the tiny model
served through the supervised node with output equal to local transformers; results as a device call returns them."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.runtime_env import RUNTIME_ABSENT, runtime_python
from tests.scripts.conftest import ROOT

SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def _run(out: Path, work: Path, wheels: Path, timeout: float = 600,
         **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OUT": str(out), "GPU_CHECK_WORK": str(work), "GPU_CHECK_WHEELS": str(wheels),
           "GPU_CHECK_BASE_PYTHON": str(runtime_python()), **extra}
    return subprocess.run(["bash", str(SCRIPT), "--device-image", "--cpu"], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False, cwd=ROOT)


def test_device_mode_serves_the_tiny_model_from_an_offline_overlay(wheels_311: Path, tmp_path: Path) -> None:
    if not runtime_python().exists():
        pytest.skip(RUNTIME_ABSENT)
    out, work = tmp_path / "out", tmp_path / "work"
    result = _run(out, work, wheels_311)
    summary = (out / "summary.txt").read_text()
    assert result.returncode == 0, summary + result.stdout[-2000:] + result.stderr[-2000:]
    for line in ("overlay ok", "runtime ok", "tiny ok", "done in"):
        assert line in summary
    # what comes back from a device call: at most 8 files of at most 16 MiB, the results in one archive
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["gpu-check.tar.gz", "summary.txt"]
    assert all(f.stat().st_size < 16 * 2**20 for f in files)
    with tarfile.open(out / "gpu-check.tar.gz") as tar:
        tar.extractall(tmp_path / "results", filter="data")
    results = tmp_path / "results"
    tiny = json.loads((results / "tiny.json").read_text())
    assert tiny["ok"] and tiny["client"]["tokens"] == tiny["client"]["local_tokens"]
    runtime = json.loads((results / "runtime.json").read_text())
    assert runtime["ok"] and runtime["imports"]["petals"] == "ok" and runtime["device_image"]["wheels"]
    # the node's packages come from the carried wheels; torch and numpy from the base it overlays (the lock's numpy
    # wheel does not fit one device call beside the rest: scripts/device_wheels.py)
    overlay = json.loads((results / "overlay.log").read_text().strip().splitlines()[-1])
    site = overlay["site_packages"]
    for name in ("transformers", "hivemind", "petals", "bitsandbytes"):
        assert overlay["origins"][name].startswith(site), name
    for name in ("torch", "numpy"):
        assert not overlay["origins"][name].startswith(site), name
    assert overlay["wheels"] == len(list(wheels_311.glob("*.whl")))
    assert "torch==" in (results / "image-pip-list.txt").read_text()


def test_device_mode_without_the_carried_wheels_stops_with_a_plain_reason(tmp_path: Path) -> None:
    if not runtime_python().exists():
        pytest.skip(RUNTIME_ABSENT)
    out, work = tmp_path / "out", tmp_path / "work"
    result = _run(out, work, tmp_path / "no-such-folder", timeout=120)
    assert result.returncode == 1
    assert "overlay FAILED" in (out / "summary.txt").read_text()
    with tarfile.open(out / "gpu-check.tar.gz") as tar:
        log = tar.extractfile("./overlay.log")
        assert log is not None
        text = log.read().decode()
    assert "no wheels in" in text and "device_wheels.py" in text and "Traceback" not in text


def test_device_mode_past_its_deadline_skips_and_still_returns_its_results(wheels_311: Path, tmp_path: Path) -> None:
    """A device call is cut at its time limit: the check ends by its own deadline instead, skipping a step that would
    start with under 30 s left, and still leaves its summary and archive for the call to bring back."""
    if not runtime_python().exists():
        pytest.skip(RUNTIME_ABSENT)
    out = tmp_path / "out"
    result = _run(out, tmp_path / "work", wheels_311, timeout=120, GPU_CHECK_DEADLINE_S="20")
    summary = (out / "summary.txt").read_text()
    assert result.returncode == 1
    assert "overlay SKIPPED: the check's 20 s are (nearly) spent" in summary and "runtime ok" not in summary
    with tarfile.open(out / "gpu-check.tar.gz") as tar:
        assert "./image-pip-list.txt" in tar.getnames() and "./overlay.log" not in tar.getnames()
