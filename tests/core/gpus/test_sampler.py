"""The GPU sampler on snapshots replayed through FakeNvml: lost GPUs and a failing driver become events once, the
thread publishes readings and keeps the latest."""

from __future__ import annotations

import time
from pathlib import Path

import pynvml

from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.gpus.nvml import GpuReader
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.gpus.sampler import GpuSampler

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"


def fake(name: str) -> FakeNvml:
    return FakeNvml.from_file(FIXTURES / f"{name}.json")


def test_gpu_lost_mid_run_is_an_event_and_never_a_crash() -> None:
    nv = fake("linux_rtx4090_rtx3060")
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    sampler = GpuSampler(GpuReader(nv), bus, period_s=0.01)
    first = sampler.sample_once()
    assert [g.index for g in first.gpus] == [0, 1]
    nv.lose(1)
    second = sampler.sample_once()
    assert [g.index for g in second.gpus] == [0]
    assert [(lost.index, lost.name) for lost in second.lost] == [(1, "NVIDIA GeForce RTX 3060")]
    sampler.sample_once()
    lost_events = [e for e in log.events if e.topic == "gpu.lost"]
    assert len(lost_events) == 1  # reported once, not every sample
    assert lost_events[0].source == "gpu1"
    assert "GPU 1 (NVIDIA GeForce RTX 3060) stopped answering" in lost_events[0].reason
    assert sampler.latest() is not None and sampler.latest().lost  # type: ignore[union-attr]
    assert log.topics().count("gpu.telemetry") == 3


def test_driver_failing_mid_run_is_reported_once() -> None:
    nv = fake("linux_rtx4090")
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    sampler = GpuSampler(GpuReader(nv), bus)
    sampler.sample_once()

    def broken() -> int:
        raise pynvml.NVMLError_Unknown()

    nv.nvmlDeviceGetCount = broken  # type: ignore[method-assign]
    for _ in range(3):
        inv = sampler.sample_once()
    assert inv.problem is not None
    assert log.topics().count("gpu.error") == 1


def test_sampler_thread_publishes_and_keeps_the_latest() -> None:
    nv = fake("linux_rtx4090")
    bus, log = EventBus(), EventLog()
    bus.subscribe(log, "gpu.telemetry")
    sampler = GpuSampler(GpuReader(nv), bus, period_s=0.01)
    sampler.start()
    try:
        for _ in range(500):
            if len(log.events) >= 3:
                break
            time.sleep(0.01)
    finally:
        sampler.stop()
    assert len(log.events) >= 3
    assert log.events[-1].data["inventory"].gpus[0].name == "NVIDIA GeForce RTX 4090"
    assert sampler.stats.samples >= 3 and sampler.stats.mean_ms > 0
    assert nv.initialised == 0  # stop() shut NVML down
