"""`farnode gpus` and `farnode plan`: output, JSON, and plain errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from farnode_desktop.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvml"


@pytest.fixture
def rig(farnode_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FARNODE_NVML_FIXTURE", str(FIXTURES / "linux_rtx4090_rtx3060.json"))
    return farnode_home


def test_gpus_lists_cards_and_verdicts(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gpus", "--model", "meta-llama/Llama-2-70b-chat-hf"]) == 0
    out = capsys.readouterr().out
    assert "NVIDIA driver 580.95.05, CUDA 13.0" in out
    assert "GPU 0: NVIDIA GeForce RTX 4090" in out
    assert "VRAM 23.5 GiB free of 24.0 GiB" in out and "compute capability 8.9" in out
    assert "graphics    1654  Xorg  (0.25 GiB)" in out
    assert "[yes] GPU 1 (NVIDIA GeForce RTX 3060) can serve 17 blocks" in out


def test_gpus_json(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gpus", "--json", "--model", "meta-llama/Llama-2-70b-chat-hf"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [g["name"] for g in body["inventory"]["gpus"]] == [
        "NVIDIA GeForce RTX 4090",
        "NVIDIA GeForce RTX 3060",
    ]
    assert body["eligibility"]["state"] == "ready"
    assert body["eligibility"]["gpus"][0]["plan"]["num_blocks"] == 41


def test_gpus_windows_wddm_none_fields(
    farnode_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FARNODE_NVML_FIXTURE", str(FIXTURES / "windows_rtx3080_wddm.json"))
    assert main(["gpus"]) == 0
    assert "explorer.exe  (memory n/a)" in capsys.readouterr().out


def test_gpus_settings_leave_a_gpu_out(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from farnode_desktop.core.paths import AppPaths
    from farnode_desktop.core.settings import Settings, SettingsStore

    SettingsStore(AppPaths.default().config_file).save(
        Settings(excluded_gpus=["GPU-0e7f2a41-3b6d-4f8a-a1c2-9d5e6b7c8a93"])
    )
    assert main(["gpus", "--model", "bigscience/bloom-560m"]) == 0
    assert "[no ] GPU 1 (NVIDIA GeForce RTX 3060) is left out in your settings" in capsys.readouterr().out


def test_plan_for_a_gpu_explains_the_arithmetic(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--model", "meta-llama/Llama-2-70b-chat-hf", "--gpu", "0"]) == 0
    out = capsys.readouterr().out
    for words in (
        "Plan for meta-llama/Llama-2-70b-chat-hf on GPU 0 (NVIDIA GeForce RTX 4090)",
        "free VRAM now",
        "- safety headroom (your setting)    1.50 GiB",
        "= usable for blocks",
        "= 41 blocks",
        "with 46 blocks",
        "=> serve 41 blocks",
    ):
        assert words in out, words


def test_plan_every_gpu_when_none_is_named(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--model", "meta-llama/Llama-2-70b-chat-hf", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [p["num_blocks"] for p in body] == [41, 17]


def test_plan_what_if_json_without_a_gpu(farnode_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "plan",
            "--model",
            "meta-llama/Llama-2-70b-chat-hf",
            "--vram-free",
            "22GiB",
            "--vram-total",
            "24GiB",
            "--headroom",
            "2",
            "--json",
        ]
    )
    assert rc == 0
    body = json.loads(capsys.readouterr().out)
    assert body["free_bytes"] == 22 * 1024**3 and body["headroom_bytes"] == 2 * 1024**3
    # (22 - 2 headroom - 0.5 CUDA - 8192/14336*2 reserve) GiB / (459,112,064 + 64 MiB) = 37.5
    assert body["num_blocks"] == 37 and body["petals_auto_blocks"] == 46
    assert body["per_block_bytes"] == 459_112_064 + 64 * 1024**2


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--vram-free", "-3GiB"], "free VRAM cannot be negative"),
        (["--vram-free", "9000TiB"], "is more than any single GPU has"),
        (["--vram-free", "abc"], "could not read 'abc' as an amount of free VRAM"),
        (["--vram-free", "10GiB", "--vram-total", "8GiB"], "cannot be more than the card's total"),
        (["--vram-free", "10GiB", "--headroom", "-1"], "headroom must be between 0 and 64 GiB"),
        (["--gpu", "7"], "there is no GPU 7 on this PC"),
    ],
)
def test_plan_bad_input_is_a_plain_error(
    rig: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    assert main(["plan", "--model", "bigscience/bloom-560m", *args]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err


def test_plan_unknown_model_suggests(farnode_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--model", "llama-2-70b", "--vram-free", "20GiB"]) == 2
    err = capsys.readouterr().err
    assert "FarNode does not know the model 'llama-2-70b'" in err
    assert "did you mean meta-llama/Llama-2-70b-chat-hf" in err


def test_plan_that_does_not_fit_exits_1(farnode_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--model", "meta-llama/Meta-Llama-3.1-405B-Instruct", "--vram-free", "4GiB"]) == 1
    assert "not enough free VRAM for one block" in capsys.readouterr().out


def test_real_farnode_gpus_on_this_machine(farnode_home: Path) -> None:
    """The installed command, the real pynvml: this development machine has no NVIDIA driver."""
    env = {k: v for k, v in os.environ.items() if k != "FARNODE_NVML_FIXTURE"}
    run = subprocess.run(
        [sys.executable, "-m", "farnode_desktop", "gpus"], capture_output=True, text=True, env=env, timeout=60
    )
    if "no NVIDIA driver" not in run.stdout:
        pytest.skip("this machine has an NVIDIA driver")
    assert run.returncode == 1
    assert "Serving farlabs/tiny-demo: no NVIDIA driver - no NVIDIA driver was found on this PC" in run.stdout
    assert "what to do: install the current NVIDIA driver" in run.stdout
    plan = subprocess.run(
        [sys.executable, "-m", "farnode_desktop", "plan", "--model", "bloom-560m"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert plan.returncode == 1
    assert "--vram-free 20GiB" in plan.stderr


def test_plan_says_a_model_needs_the_newer_runtime(farnode_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from farnode_desktop.core.node.runtime_lock import runtime_needs

    assert main(["plan", "--model", "Qwen/Qwen3-30B-A3B", "--vram-free", "22GiB", "--quantization", "none"]) == 0
    out = capsys.readouterr().out
    assert "one block: 623,120,640 params x 2 bytes (bfloat16)" in out
    assert "2 x 4 kv heads x 128 x 16384 tokens" in out
    newer = "warning: Qwen/Qwen3-30B-A3B needs the newer node runtime"
    assert (newer in out) is runtime_needs().transformers.startswith("4.")
