"""Record this machine's real NVML readings into the JSON format that `FakeNvml` replays.

Run on a PC with an NVIDIA GPU:  python scripts/record_nvml_snapshot.py tests/fixtures/nvml/my_card.json
Add `--note "..."` to say what was running (a game, a desktop, a headless server).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
from pathlib import Path
from typing import Any

import pynvml


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _try(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except pynvml.NVMLError_NotSupported:
        return None


def _processes(getter: Any, handle: Any) -> list[dict[str, Any]]:
    out = []
    for p in getter(handle):
        try:
            name = _text(pynvml.nvmlSystemGetProcessName(p.pid))
        except pynvml.NVMLError:
            name = ""
        out.append({"pid": int(p.pid), "name": name, "used_memory": p.usedGpuMemory})
    return out


def record(note: str) -> dict[str, Any]:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        name = type(exc).__name__.removeprefix("NVMLError_")
        return {
            "source": f"RECORDED {datetime.date.today()} on {platform.platform()}: nvmlInit failed. {note}",
            "platform": sys.platform,
            "init_error": name,
            "driver_version": None,
            "cuda_driver_version": None,
            "gpus": [],
        }
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(index)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            util = _try(pynvml.nvmlDeviceGetUtilizationRates, h)
            unsupported = []
            readings: dict[str, Any] = {
                "compute_capability": _try(pynvml.nvmlDeviceGetCudaComputeCapability, h),
                "temperature": _try(pynvml.nvmlDeviceGetTemperature, h, pynvml.NVML_TEMPERATURE_GPU),
                "utilization": None if util is None else {"gpu": util.gpu, "memory": util.memory},
                "power": _try(pynvml.nvmlDeviceGetPowerUsage, h),
                "power_limit": _try(pynvml.nvmlDeviceGetEnforcedPowerLimit, h),
            }
            unsupported = [k for k, v in readings.items() if v is None]
            try:
                compute = _processes(pynvml.nvmlDeviceGetComputeRunningProcesses, h)
                graphics = _processes(pynvml.nvmlDeviceGetGraphicsRunningProcesses, h)
            except pynvml.NVMLError_NotSupported:
                compute, graphics = [], []
                unsupported.append("processes")
            gpus.append(
                {
                    "index": index,
                    "uuid": _text(pynvml.nvmlDeviceGetUUID(h)),
                    "name": _text(pynvml.nvmlDeviceGetName(h)),
                    "memory": {"total": mem.total, "free": mem.free, "used": mem.used},
                    **{k: (list(v) if isinstance(v, tuple) else v) for k, v in readings.items()},
                    "compute_processes": compute,
                    "graphics_processes": graphics,
                    "unsupported": unsupported,
                }
            )
        return {
            "source": f"RECORDED {datetime.date.today()} with nvidia-ml-py on {platform.platform()}. {note}",
            "platform": sys.platform,
            "units": {
                "memory": "bytes",
                "power": "milliwatts",
                "power_limit": "milliwatts",
                "temperature": "degrees C",
                "utilization": "percent",
            },
            "init_error": None,
            "driver_version": _text(pynvml.nvmlSystemGetDriverVersion()),
            "cuda_driver_version": pynvml.nvmlSystemGetCudaDriverVersion(),
            "gpus": gpus,
        }
    finally:
        pynvml.nvmlShutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path, help="where to write the snapshot JSON")
    parser.add_argument("--note", default="", help="what the machine was doing")
    args = parser.parse_args()
    snapshot = record(args.note)
    args.output.write_text(json.dumps(snapshot, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output} ({len(snapshot['gpus'])} GPU(s))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
