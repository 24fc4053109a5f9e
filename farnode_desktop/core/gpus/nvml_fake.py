"""A stand-in for `pynvml` replaying recorded (or reconstructed) NVML readings from a JSON snapshot.

Used by tests and demos where no NVIDIA GPU is present. It is an `nvml.NvmlModule` (mypy checks it has the
functions `nvml.py` calls) and raises the real `pynvml` exception classes, so the code under test cannot tell it
apart.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pynvml

from farnode_desktop.core.gpus.nvml import NvmlModule

NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU

# Which snapshot key each NVML call reads, for the snapshot's "unsupported" list.
_READINGS = ("temperature", "utilization", "power", "power_limit", "compute_capability", "processes")


def _error(name: str) -> pynvml.NVMLError:
    cls = getattr(pynvml, f"NVMLError_{name}", None)
    if cls is None:
        raise ValueError(f"pynvml has no NVMLError_{name}")
    err: pynvml.NVMLError = cls()
    return err


@dataclass(frozen=True)
class _Memory:
    total: int
    free: int
    used: int


@dataclass(frozen=True)
class _Utilization:
    gpu: int | None
    memory: int | None


@dataclass(frozen=True)
class _Process:
    pid: int
    usedGpuMemory: int | None


class FakeNvml(NvmlModule):
    """Replays a snapshot; tests change it between samples (`gpu(i)[...] = ...`, `lose(i)`)."""

    NVML_TEMPERATURE_GPU = NVML_TEMPERATURE_GPU

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = copy.deepcopy(snapshot)
        self.initialised = 0
        self.calls = 0
        self._lost: set[int] = set()

    @classmethod
    def from_file(cls, path: str | Path) -> FakeNvml:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    # ---- what tests use to change the machine
    def gpu(self, index: int) -> dict[str, Any]:
        gpus: list[dict[str, Any]] = self.snapshot["gpus"]
        return gpus[index]

    def lose(self, index: int) -> None:
        """The card falls off the bus: every call about it raises NVMLError_GpuIsLost from now on."""
        self._lost.add(index)

    def set_process(self, index: int, kind: str, pid: int, name: str, used_memory: int | None) -> None:
        procs: list[dict[str, Any]] = self.gpu(index).setdefault(f"{kind}_processes", [])
        procs[:] = [p for p in procs if p["pid"] != pid]
        procs.append({"pid": pid, "name": name, "used_memory": used_memory})

    def remove_process(self, index: int, pid: int) -> None:
        for kind in ("compute", "graphics"):
            procs = self.gpu(index).get(f"{kind}_processes", [])
            procs[:] = [p for p in procs if p["pid"] != pid]

    # ---- the pynvml surface
    def nvmlInit(self) -> None:
        self.calls += 1
        err = self.snapshot.get("init_error")
        if err:
            raise _error(err)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self._check_init()
        self.initialised -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        self._check_init()
        return str(self.snapshot["driver_version"])

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        self._check_init()
        return int(self.snapshot["cuda_driver_version"])

    def nvmlDeviceGetCount(self) -> int:
        self._check_init()
        return len(self.snapshot["gpus"])

    def nvmlDeviceGetHandleByIndex(self, index: int) -> object:
        self._check_init()
        if not 0 <= index < len(self.snapshot["gpus"]):
            raise _error("InvalidArgument")
        return index

    def nvmlDeviceGetUUID(self, handle: object) -> str:
        return str(self._gpu(handle)["uuid"])

    def nvmlDeviceGetName(self, handle: object) -> str:
        return str(self._gpu(handle)["name"])

    def nvmlDeviceGetMemoryInfo(self, handle: object) -> _Memory:
        m = self._gpu(handle)["memory"]
        return _Memory(total=m["total"], free=m["free"], used=m["used"])

    def nvmlDeviceGetCudaComputeCapability(self, handle: object) -> tuple[int, int]:
        cc = self._reading(handle, "compute_capability")
        return int(cc[0]), int(cc[1])

    def nvmlDeviceGetTemperature(self, handle: object, sensor: int) -> int:
        assert sensor == NVML_TEMPERATURE_GPU
        return int(self._reading(handle, "temperature"))

    def nvmlDeviceGetUtilizationRates(self, handle: object) -> _Utilization:
        u = self._reading(handle, "utilization")
        return _Utilization(gpu=u["gpu"], memory=u["memory"])

    def nvmlDeviceGetPowerUsage(self, handle: object) -> int:
        return int(self._reading(handle, "power"))

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: object) -> int:
        return int(self._reading(handle, "power_limit"))

    def nvmlDeviceGetComputeRunningProcesses(self, handle: object) -> list[_Process]:
        return self._procs(handle, "compute")

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: object) -> list[_Process]:
        return self._procs(handle, "graphics")

    def nvmlSystemGetProcessName(self, pid: int) -> str:
        self._check_init()
        for g in self.snapshot["gpus"]:
            for kind in ("compute", "graphics"):
                for p in g.get(f"{kind}_processes", []):
                    if p["pid"] == pid and p.get("name"):
                        return str(p["name"])
        raise _error("NotFound")

    # ---- internals
    def _check_init(self) -> None:
        self.calls += 1
        if self.initialised <= 0:
            raise _error("Uninitialized")

    def _gpu(self, handle: object) -> dict[str, Any]:
        self._check_init()
        if not isinstance(handle, int):
            raise _error("InvalidArgument")  # a handle this fake never handed out
        if handle in self._lost:
            raise _error("GpuIsLost")
        return self.gpu(handle)

    def _reading(self, handle: object, key: str) -> Any:
        g = self._gpu(handle)
        if key in g.get("unsupported", []) or g.get(key) is None:
            raise _error("NotSupported")
        return g[key]

    def _procs(self, handle: object, kind: str) -> list[_Process]:
        g = self._gpu(handle)
        if "processes" in g.get("unsupported", []):
            raise _error("NotSupported")
        return [
            _Process(pid=p["pid"], usedGpuMemory=p.get("used_memory"))
            for p in g.get(f"{kind}_processes", [])
        ]
