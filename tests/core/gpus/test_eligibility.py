"""Eligibility: each plain-language state, from snapshots of real cards and drivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.core.gpus.catalog import Catalog
from farnode_desktop.core.gpus.eligibility import (
    WSL_NOTE,
    GpuState,
    RuntimeNeeds,
    SystemState,
    assess,
    detect_wsl,
)
from farnode_desktop.core.gpus.nvml import GIB, GpuInventory, read_inventory
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.settings import Settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"
CATALOG = Catalog.load()
LLAMA70 = CATALOG.get("meta-llama/Llama-2-70b-chat-hf")


def inv(name: str, nv: FakeNvml | None = None) -> GpuInventory:
    return read_inventory(nv or FakeNvml.from_file(FIXTURES / f"{name}.json"))


def test_no_driver() -> None:
    e = assess(inv("no_driver"), LLAMA70, Settings())
    assert e.state is SystemState.NO_DRIVER
    assert "nvidia.com/drivers" in e.what_to_do


def test_no_driver_under_wsl_points_at_the_windows_driver() -> None:
    e = assess(inv("no_driver"), LLAMA70, Settings(), wsl=True)
    assert "on Windows (not inside WSL)" in e.what_to_do
    assert e.notes == (WSL_NOTE,)


def test_driver_not_loaded() -> None:
    e = assess(inv("driver_not_loaded"), LLAMA70, Settings())
    assert e.state is SystemState.DRIVER_NOT_LOADED


def test_no_gpu() -> None:
    nv = FakeNvml.from_file(FIXTURES / "linux_rtx4090.json")
    nv.snapshot["gpus"] = []
    e = assess(inv("", nv), LLAMA70, Settings())
    assert e.state is SystemState.NO_GPU


def test_driver_too_old_for_the_runtime_cuda_build() -> None:
    e = assess(inv("linux_rtx2080ti_driver470"), LLAMA70, Settings())
    assert e.state is SystemState.DRIVER_TOO_OLD
    assert "470.256.02 supports CUDA up to 11.4" in e.reason
    assert "update the NVIDIA driver to 580 or newer" in e.what_to_do
    assert e.gpus[0].state is GpuState.DRIVER_TOO_OLD


def test_a_550_driver_is_too_old_for_the_locked_cuda_13_build() -> None:
    # The need comes from the lock's metadata (CUDA 13.0 -> driver 580), not from a constant in the code.
    e = assess(inv("linux_rtx3060_driver550"), LLAMA70, Settings())
    assert e.state is SystemState.DRIVER_TOO_OLD
    assert "550.54.14 supports CUDA up to 12.4" in e.reason and "built with CUDA 13.0" in e.reason
    assert "update the NVIDIA driver to 580 or newer" in e.what_to_do
    (v,) = e.gpus
    assert v.state is GpuState.DRIVER_TOO_OLD and "580 or newer" in v.what_to_do
    # the same card and driver pass with a CUDA 12 build's needs
    cuda12 = RuntimeNeeds(cuda_build=12080, min_cuda_driver=12000, min_driver="525.60", arch_list=("sm_86",))
    assert assess(inv("linux_rtx3060_driver550"), LLAMA70, Settings(), cuda12).state is SystemState.READY


def test_an_rtx_50_card_is_covered_and_a_build_without_its_kernels_says_update_farnode() -> None:
    nv = FakeNvml.from_file(FIXTURES / "linux_rtx4090.json")
    gpu = nv.gpu(0)
    gpu["name"], gpu["compute_capability"] = "NVIDIA GeForce RTX 5090", [12, 0]
    assert assess(inv("", nv), LLAMA70, Settings()).state is SystemState.READY
    old_build = RuntimeNeeds(arch_list=("sm_75", "sm_80", "sm_86", "sm_90"))
    e = assess(inv("", nv), LLAMA70, Settings(), old_build)
    (v,) = e.gpus
    assert v.state is GpuState.COMPUTE_TOO_LOW and "compute capability 12.0" in v.reason
    assert "update FarNode" in v.what_to_do


def test_compute_capability_too_low() -> None:
    e = assess(inv("linux_gtx1060"), CATALOG.get("bigscience/bloom-560m"), Settings())
    assert e.state is SystemState.NO_ELIGIBLE_GPU
    (v,) = e.gpus
    assert v.state is GpuState.COMPUTE_TOO_LOW
    assert "compute capability 6.1" in v.reason and "needs 7.5 or newer" in v.reason
    assert "GTX 16 / RTX 20" in v.reason and "cannot serve with FarNode" in v.what_to_do
    # the same card passes when the runtime is built with Pascal kernels
    ok = assess(
        inv("linux_gtx1060"),
        CATALOG.get("bigscience/bloom-560m"),
        Settings(),
        RuntimeNeeds(arch_list=("sm_60", "sm_75")),
    )
    assert ok.state is SystemState.READY


def test_not_enough_free_vram_for_one_block() -> None:
    nv = FakeNvml.from_file(FIXTURES / "linux_rtx4090.json")
    m = nv.gpu(0)["memory"]
    m["free"] = 3 * GIB  # a game holds the rest
    m["used"] = m["total"] - m["free"]
    e = assess(inv("", nv), CATALOG.get("meta-llama/Meta-Llama-3.1-405B-Instruct"), Settings())
    (v,) = e.gpus
    assert v.state is GpuState.NOT_ENOUGH_VRAM
    assert "3.0 GiB free" in v.reason and "one block" in v.reason
    assert v.plan is not None and v.plan.num_blocks == 0
    assert "lower the headroom" in v.what_to_do


def test_left_out_gpu_and_a_ready_one() -> None:
    inventory = inv("linux_rtx4090_rtx3060")
    settings = Settings(excluded_gpus=[inventory.gpus[1].uuid])
    e = assess(inventory, LLAMA70, settings)
    assert e.state is SystemState.READY
    assert [v.state for v in e.gpus] == [GpuState.ELIGIBLE, GpuState.LEFT_OUT]
    assert [v.index for v in e.eligible] == [0]
    assert e.gpus[0].plan is not None and e.gpus[0].plan.num_blocks == 41


def test_every_gpu_left_out_says_so() -> None:
    inventory = inv("linux_rtx4090")
    e = assess(inventory, LLAMA70, Settings(excluded_gpus=[inventory.gpus[0].uuid]))
    assert e.state is SystemState.NO_ELIGIBLE_GPU
    assert "left out" in e.reason


def test_wsl_reading_is_eligible_with_the_wsl_note() -> None:
    e = assess(inv("wsl_rtx4090"), LLAMA70, Settings(), wsl=True)
    assert e.state is SystemState.READY
    assert "invisible" in e.notes[0]


@pytest.mark.parametrize(
    ("release", "env", "expected"),
    [
        ("5.15.153.1-microsoft-standard-WSL2\n", {}, True),
        ("6.1.0-18-amd64\n", {}, False),
        ("6.1.0-18-amd64\n", {"WSL_DISTRO_NAME": "Ubuntu"}, True),
    ],
)
def test_detect_wsl(release: str, env: dict[str, str], expected: bool) -> None:
    assert detect_wsl(lambda _p: release, env) is expected


def test_detect_wsl_without_proc() -> None:
    def missing(_p: Path) -> str:
        raise FileNotFoundError

    assert detect_wsl(missing, {}) is False


def test_a_model_the_locked_runtime_cannot_load_is_refused_before_launch() -> None:
    llama31 = CATALOG.get("meta-llama/Meta-Llama-3.1-70B-Instruct")
    mixtral = CATALOG.get("mistralai/Mixtral-8x22B-Instruct-v0.1")
    # the lock's transformers 4.43.1 loads Llama 3.1's llama3 RoPE and Mixtral: offered
    assert assess(inv("linux_rtx4090"), llama31, Settings()).state is SystemState.READY
    assert assess(inv("linux_rtx4090"), mixtral, Settings()).state is not SystemState.MODEL_NOT_SERVABLE
    # the earlier runtime (transformers 4.34.1) crashed five times on Llama 3.1's config; now it is said up front
    old = RuntimeNeeds(transformers="4.34.1")
    e = assess(inv("linux_rtx4090"), llama31, Settings(), old)
    assert e.state is SystemState.MODEL_NOT_SERVABLE
    assert e.reason == ("meta-llama/Meta-Llama-3.1-70B-Instruct needs the newer node runtime: FarMesh serves it on "
                        "transformers 4.43.0 or newer, and this FarNode's runtime has 4.34.1")
    assert "choose another model" in e.what_to_do
    assert assess(inv("linux_rtx4090"), LLAMA70, Settings(), old).state is SystemState.READY
