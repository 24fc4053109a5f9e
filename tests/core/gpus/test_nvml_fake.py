"""FakeNvml, the tests' NVML boundary: it replays every recorded fixture call for call, raises the real pynvml
errors, and is an NvmlModule like pynvml itself."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pynvml
import pytest

from farnode_desktop.core.gpus.nvml import NvmlModule
from farnode_desktop.core.gpus.nvml_fake import FakeNvml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"
ALL_FIXTURES = sorted(FIXTURES.glob("*.json"))


def _snapshot(name: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return raw


def test_there_are_fixtures_to_replay() -> None:
    assert len(ALL_FIXTURES) >= 9


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.stem)
def test_the_fake_replays_each_fixture_faithfully(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    nv = FakeNvml.from_file(path)
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        nv.nvmlDeviceGetCount()  # nothing answers before nvmlInit, as in pynvml
    if raw["init_error"]:
        with pytest.raises(getattr(pynvml, f"NVMLError_{raw['init_error']}")):
            nv.nvmlInit()
        assert nv.initialised == 0
        return
    nv.nvmlInit()
    assert nv.nvmlSystemGetDriverVersion() == raw["driver_version"]
    assert nv.nvmlSystemGetCudaDriverVersion() == raw["cuda_driver_version"]
    assert nv.nvmlDeviceGetCount() == len(raw["gpus"]) >= 1
    for index, gpu in enumerate(raw["gpus"]):
        handle = nv.nvmlDeviceGetHandleByIndex(index)
        assert nv.nvmlDeviceGetUUID(handle) == gpu["uuid"]
        assert nv.nvmlDeviceGetName(handle) == gpu["name"]
        memory = nv.nvmlDeviceGetMemoryInfo(handle)
        assert (memory.total, memory.free, memory.used) == (
            gpu["memory"]["total"], gpu["memory"]["free"], gpu["memory"]["used"])
        assert nv.nvmlDeviceGetCudaComputeCapability(handle) == tuple(gpu["compute_capability"])
        assert nv.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU) == gpu["temperature"]
        rates = nv.nvmlDeviceGetUtilizationRates(handle)
        assert (rates.gpu, rates.memory) == (gpu["utilization"]["gpu"], gpu["utilization"]["memory"])
        assert nv.nvmlDeviceGetPowerUsage(handle) == gpu["power"]
        assert nv.nvmlDeviceGetEnforcedPowerLimit(handle) == gpu["power_limit"]
        for kind, call in (("compute", nv.nvmlDeviceGetComputeRunningProcesses),
                           ("graphics", nv.nvmlDeviceGetGraphicsRunningProcesses)):
            recorded = gpu.get(f"{kind}_processes", [])
            assert [(p.pid, p.usedGpuMemory) for p in call(handle)] == [
                (p["pid"], p.get("used_memory")) for p in recorded]
            for p in recorded:
                if p.get("name"):
                    assert nv.nvmlSystemGetProcessName(p["pid"]) == p["name"]
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        nv.nvmlDeviceGetHandleByIndex(len(raw["gpus"]))
    nv.nvmlShutdown()
    assert nv.initialised == 0


def test_the_fake_is_an_nvml_module_with_every_call_the_reader_makes() -> None:
    fake = FakeNvml(_snapshot("linux_rtx4090"))
    assert isinstance(fake, NvmlModule)
    for name, declared in vars(NvmlModule).items():
        if name.startswith("nvml"):
            assert (list(inspect.signature(getattr(fake, name)).parameters)
                    == list(inspect.signature(declared).parameters)[1:]), name


def test_changes_tests_make_reach_the_calls_and_never_the_fixture() -> None:
    raw = _snapshot("linux_rtx4090_rtx3060")
    nv = FakeNvml(raw)
    nv.nvmlInit()
    nv.lose(1)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        nv.nvmlDeviceGetName(1)
    assert nv.nvmlDeviceGetName(0) == "NVIDIA GeForce RTX 4090"  # the other card still answers
    nv.set_process(0, "compute", 4242, "python3", 1024)
    assert (4242, 1024) in [(p.pid, p.usedGpuMemory) for p in nv.nvmlDeviceGetComputeRunningProcesses(0)]
    assert nv.nvmlSystemGetProcessName(4242) == "python3"
    nv.remove_process(0, 4242)
    assert 4242 not in [p.pid for p in nv.nvmlDeviceGetComputeRunningProcesses(0)]
    with pytest.raises(pynvml.NVMLError_NotFound):
        nv.nvmlSystemGetProcessName(4242)
    nv.gpu(0)["unsupported"] = ["temperature", "processes"]
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nv.nvmlDeviceGetTemperature(0, pynvml.NVML_TEMPERATURE_GPU)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nv.nvmlDeviceGetGraphicsRunningProcesses(0)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        nv.nvmlDeviceGetName("a handle the fake never handed out")
    assert raw == _snapshot("linux_rtx4090_rtx3060")  # the fake works on its own copy
