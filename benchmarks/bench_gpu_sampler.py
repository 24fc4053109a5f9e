"""What one GPU telemetry sample costs FarNode (the fake NVML: our own work, not the driver's).

Run: .venv/bin/python benchmarks/bench_gpu_sampler.py
Prints the figures and writes benchmarks/results/gpu_sampler.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.gpus.nvml import GpuReader
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.gpus.sampler import GpuSampler

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "nvml"
PERIOD_S = 2.0  # the sampler's default period
SAMPLES = 5000


def measure(fixture: str) -> dict[str, float]:
    nv = FakeNvml.from_file(FIXTURES / fixture)
    bus = EventBus()
    bus.subscribe(EventLog(), "gpu.telemetry")  # one listener, as the app has (the Qt bridge)
    sampler = GpuSampler(GpuReader(nv), bus, period_s=PERIOD_S)
    for _ in range(50):  # warm: first sample reads the static facts
        sampler.sample_once()
    calls_before = nv.calls
    wall: list[float] = []
    cpu_start = time.process_time()
    for _ in range(SAMPLES):
        t = time.perf_counter()
        sampler.sample_once()
        wall.append(time.perf_counter() - t)
    cpu = time.process_time() - cpu_start
    wall.sort()
    per_sample_cpu = cpu / SAMPLES
    return {
        "gpus": len(nv.snapshot["gpus"]),
        "nvml_calls_per_sample": (nv.calls - calls_before) / SAMPLES,
        "mean_us": statistics.fmean(wall) * 1e6,
        "p50_us": wall[len(wall) // 2] * 1e6,
        "p99_us": wall[int(len(wall) * 0.99)] * 1e6,
        "cpu_us_per_sample": per_sample_cpu * 1e6,
        "cpu_share_at_period_pct": 100 * per_sample_cpu / PERIOD_S,
    }


def main() -> None:
    results = {
        fixture.removesuffix(".json"): measure(fixture)
        for fixture in ("linux_rtx4090.json", "linux_rtx4090_rtx3060.json", "windows_rtx3080_wddm.json")
    }
    for name, r in results.items():
        print(
            f"{name:28} {r['gpus']:.0f} GPU(s) {r['nvml_calls_per_sample']:.0f} NVML calls/sample  "
            f"mean {r['mean_us']:.1f} us  p50 {r['p50_us']:.1f} us  p99 {r['p99_us']:.1f} us  "
            f"CPU {r['cpu_us_per_sample']:.1f} us/sample = {r['cpu_share_at_period_pct']:.5f}% of one core "
            f"at one sample per {PERIOD_S:g} s"
        )
    out = ROOT / "benchmarks" / "results" / "gpu_sampler.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "what": "GpuSampler.sample_once with FakeNvml: FarNode's own cost per sample (driver time excluded)",
        "machine": platform.platform(),
        "python": platform.python_version(),
        "period_s": PERIOD_S,
        "samples": SAMPLES,
        "results": results,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out.write_text(json.dumps(body, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
