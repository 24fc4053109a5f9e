"""The NVML boundary: what each NVIDIA GPU is and is doing, read through an injected `pynvml` module."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol, TypeVar, runtime_checkable

import pynvml

from farnode_desktop.core.errors import FarNodeError

_T = TypeVar("_T")
GIB = 1024**3
MIB = 1024**2


class NvmlMemory(Protocol):
    """`nvmlDeviceGetMemoryInfo`'s answer, in bytes."""

    @property
    def total(self) -> int: ...

    @property
    def free(self) -> int: ...

    @property
    def used(self) -> int: ...


class NvmlUtilization(Protocol):
    """`nvmlDeviceGetUtilizationRates`'s answer, in percent."""

    @property
    def gpu(self) -> int | None: ...

    @property
    def memory(self) -> int | None: ...


class NvmlProcess(Protocol):
    """One entry of `nvmlDeviceGet{Compute,Graphics}RunningProcesses` (usedGpuMemory None: not reported)."""

    @property
    def pid(self) -> int: ...

    @property
    def usedGpuMemory(self) -> int | None: ...  # pynvml's name


@runtime_checkable
class NvmlModule(Protocol):
    """The pynvml functions FarNode calls: the real `pynvml` module has them, and so has `nvml_fake.FakeNvml`.
    A device handle is opaque: whatever `nvmlDeviceGetHandleByIndex` returned is handed back."""

    def nvmlInit(self) -> None: ...

    def nvmlShutdown(self) -> None: ...

    def nvmlSystemGetDriverVersion(self) -> str | bytes: ...

    def nvmlSystemGetCudaDriverVersion(self) -> int: ...

    def nvmlSystemGetProcessName(self, pid: int) -> str | bytes: ...

    def nvmlDeviceGetCount(self) -> int: ...

    def nvmlDeviceGetHandleByIndex(self, index: int) -> object: ...

    def nvmlDeviceGetUUID(self, handle: object) -> str | bytes: ...

    def nvmlDeviceGetName(self, handle: object) -> str | bytes: ...

    def nvmlDeviceGetMemoryInfo(self, handle: object) -> NvmlMemory: ...

    def nvmlDeviceGetCudaComputeCapability(self, handle: object) -> tuple[int, int]: ...

    def nvmlDeviceGetTemperature(self, handle: object, sensor: int) -> int: ...

    def nvmlDeviceGetUtilizationRates(self, handle: object) -> NvmlUtilization: ...

    def nvmlDeviceGetPowerUsage(self, handle: object) -> int: ...

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: object) -> int: ...

    def nvmlDeviceGetComputeRunningProcesses(self, handle: object) -> Sequence[NvmlProcess]: ...

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: object) -> Sequence[NvmlProcess]: ...


class NvmlUnavailable(FarNodeError):
    """NVML could not be started: `code` says why (no_driver, driver_not_loaded, nvml_error)."""

    def __init__(self, code: str, message: str, hint: str = "", detail: str = "") -> None:
        super().__init__(message, hint)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class GpuProcess:
    """A process holding a context on a GPU. `used_bytes` is None where the driver cannot say (WDDM)."""

    pid: int
    name: str
    kind: str  # "compute" or "graphics"
    used_bytes: int | None

    @property
    def short_name(self) -> str:
        """`eldenring.exe` from `C:\\Games\\...\\eldenring.exe`, `Xorg` from `/usr/lib/xorg/Xorg`."""
        return self.name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or self.name


@dataclass(frozen=True)
class GpuInfo:
    """One GPU as NVML saw it at `read_at`. Readings a card does not support are None."""

    index: int
    uuid: str
    name: str
    total_bytes: int
    free_bytes: int
    used_bytes: int
    compute_capability: tuple[int, int] | None
    temperature_c: int | None
    utilization_pct: int | None
    memory_utilization_pct: int | None
    power_w: float | None
    power_limit_w: float | None
    processes: tuple[GpuProcess, ...] = ()
    read_at: float = 0.0

    @property
    def node_name(self) -> str:
        return f"gpu{self.index}"

    @property
    def compute_processes(self) -> tuple[GpuProcess, ...]:
        return tuple(p for p in self.processes if p.kind == "compute")

    @property
    def graphics_processes(self) -> tuple[GpuProcess, ...]:
        return tuple(p for p in self.processes if p.kind == "graphics")

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["compute_capability"] = (
            f"{self.compute_capability[0]}.{self.compute_capability[1]}" if self.compute_capability else None
        )
        return raw


@dataclass(frozen=True)
class LostGpu:
    """A GPU that stopped answering NVML (fallen off the bus, driver reset): never read it again."""

    index: int
    uuid: str | None
    name: str | None
    error: str


@dataclass(frozen=True)
class GpuInventory:
    """Every NVIDIA GPU on this PC, or the reason none could be read (`problem`)."""

    driver_version: str | None = None
    cuda_driver_version: int | None = None  # e.g. 12040 = the driver supports CUDA 12.4
    gpus: tuple[GpuInfo, ...] = ()
    lost: tuple[LostGpu, ...] = ()
    problem: NvmlUnavailable | None = None
    read_at: float = 0.0

    @property
    def cuda_driver_text(self) -> str | None:
        v = self.cuda_driver_version
        return None if v is None else f"{v // 1000}.{(v % 1000) // 10}"

    def gpu(self, index: int) -> GpuInfo | None:
        return next((g for g in self.gpus if g.index == index), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "driver_version": self.driver_version,
            "cuda_driver_version": self.cuda_driver_version,
            "gpus": [g.to_json() for g in self.gpus],
            "lost": [asdict(g) for g in self.lost],
            "problem": None
            if self.problem is None
            else {"code": self.problem.code, "message": str(self.problem), "hint": self.problem.hint},
            "read_at": self.read_at,
        }


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _optional(fn: Callable[[], _T]) -> _T | None:
    """A reading some cards or drivers lack: None instead of an error. A lost GPU still raises."""
    try:
        return fn()
    except pynvml.NVMLError_GpuIsLost:
        raise
    except pynvml.NVMLError:
        return None


def init_error(exc: pynvml.NVMLError) -> NvmlUnavailable:
    """Turn an `nvmlInit` failure into words a provider can act on."""
    if isinstance(exc, pynvml.NVMLError_LibraryNotFound):
        return NvmlUnavailable(
            "no_driver",
            "no NVIDIA driver was found on this PC",
            "install the current NVIDIA driver for your graphics card (nvidia.com/drivers), "
            "restart, and check that `nvidia-smi` lists your GPU",
            str(exc),
        )
    if isinstance(exc, pynvml.NVMLError_DriverNotLoaded):
        return NvmlUnavailable(
            "driver_not_loaded",
            "the NVIDIA driver is installed but not running, or there is no NVIDIA GPU in this PC",
            "restart the PC; if `nvidia-smi` still fails, reinstall the NVIDIA driver "
            "(after a kernel update on Linux the driver module often needs rebuilding)",
            str(exc),
        )
    if isinstance(exc, pynvml.NVMLError_LibRmVersionMismatch):
        return NvmlUnavailable(
            "driver_mismatch",
            "the NVIDIA driver was updated but the old one is still loaded",
            "restart the PC to finish the driver update",
            str(exc),
        )
    if isinstance(exc, pynvml.NVMLError_NoPermission):
        return NvmlUnavailable(
            "no_permission",
            "this user may not talk to the NVIDIA driver",
            "on Linux, add your user to the group that owns /dev/nvidia* (often `video`) and log in again",
            str(exc),
        )
    return NvmlUnavailable(
        "nvml_error",
        f"the NVIDIA driver did not answer ({exc})",
        "restart the PC; reinstall the driver if it persists",
    )


@dataclass
class _Static:
    """Readings that never change while the app runs: fetched once per GPU."""

    handle: object
    uuid: str
    name: str
    total_bytes: int
    compute_capability: tuple[int, int] | None
    power_limit_w: float | None


class GpuReader:
    """Reads GPUs through an NVML module (the real `pynvml` by default, a fake in tests)."""

    def __init__(self, nvml: NvmlModule | None = None, clock: Callable[[], float] = time.time) -> None:
        self.nvml: NvmlModule = pynvml if nvml is None else nvml
        self._clock = clock
        self._started = False
        self._static: dict[int, _Static] = {}
        self._lost: dict[int, LostGpu] = {}
        self._names: dict[int, str] = {}
        self._driver: tuple[str | None, int | None] = (None, None)

    def start(self) -> None:
        """Initialise NVML once; raises `NvmlUnavailable` with a plain reason."""
        if self._started:
            return
        try:
            self.nvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise init_error(exc) from exc
        self._started = True
        driver = _optional(lambda: _text(self.nvml.nvmlSystemGetDriverVersion()))
        cuda = _optional(self.nvml.nvmlSystemGetCudaDriverVersion)
        self._driver = (driver, int(cuda) if cuda is not None else None)

    def close(self) -> None:
        if self._started:
            self._started = False
            self._static.clear()
            self._names.clear()
            # a driver gone away cannot be shut down; nothing is lost
            with contextlib.suppress(pynvml.NVMLError):
                self.nvml.nvmlShutdown()

    def inventory(self) -> GpuInventory:
        """Every GPU now. Never raises for one bad GPU: it is listed under `lost` instead."""
        now = self._clock()
        try:
            self.start()
            count = int(self.nvml.nvmlDeviceGetCount())
        except NvmlUnavailable as exc:
            return GpuInventory(problem=exc, read_at=now)
        except pynvml.NVMLError as exc:
            return GpuInventory(problem=init_error(exc), read_at=now)
        gpus: list[GpuInfo] = []
        for index in range(count):
            if index in self._lost:
                continue
            try:
                gpus.append(self._read(index, now))
            except pynvml.NVMLError as exc:
                static = self._static.pop(index, None)
                self._lost[index] = LostGpu(
                    index, static.uuid if static else None, static.name if static else None, str(exc)
                )
        driver, cuda = self._driver
        return GpuInventory(driver, cuda, tuple(gpus), tuple(self._lost.values()), None, now)

    def _static_for(self, index: int) -> _Static:
        cached = self._static.get(index)
        if cached is not None:
            return cached
        nv = self.nvml
        handle = nv.nvmlDeviceGetHandleByIndex(index)
        cc = _optional(lambda: nv.nvmlDeviceGetCudaComputeCapability(handle))
        limit = _optional(lambda: nv.nvmlDeviceGetEnforcedPowerLimit(handle))
        static = _Static(
            handle=handle,
            uuid=_text(nv.nvmlDeviceGetUUID(handle)),
            name=_text(nv.nvmlDeviceGetName(handle)),
            total_bytes=int(nv.nvmlDeviceGetMemoryInfo(handle).total),
            compute_capability=(int(cc[0]), int(cc[1])) if cc is not None else None,
            power_limit_w=limit / 1000.0 if limit is not None else None,
        )
        self._static[index] = static
        return static

    def _read(self, index: int, now: float) -> GpuInfo:
        nv = self.nvml
        static = self._static_for(index)
        h = static.handle
        memory = nv.nvmlDeviceGetMemoryInfo(h)
        temperature = _optional(lambda: nv.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU))
        rates = _optional(lambda: nv.nvmlDeviceGetUtilizationRates(h))
        power = _optional(lambda: nv.nvmlDeviceGetPowerUsage(h))
        processes = self._processes(h, "compute", nv.nvmlDeviceGetComputeRunningProcesses) + self._processes(
            h, "graphics", nv.nvmlDeviceGetGraphicsRunningProcesses
        )
        return GpuInfo(
            index=index,
            uuid=static.uuid,
            name=static.name,
            total_bytes=int(memory.total),
            free_bytes=int(memory.free),
            used_bytes=int(memory.used),
            compute_capability=static.compute_capability,
            temperature_c=int(temperature) if temperature is not None else None,
            utilization_pct=int(rates.gpu) if rates is not None and rates.gpu is not None else None,
            memory_utilization_pct=int(rates.memory)
            if rates is not None and rates.memory is not None
            else None,
            power_w=power / 1000.0 if power is not None else None,
            power_limit_w=static.power_limit_w,
            processes=processes,
            read_at=now,
        )

    def _processes(self, handle: object, kind: str,
                   getter: Callable[[object], Sequence[NvmlProcess]]) -> tuple[GpuProcess, ...]:
        found: Sequence[NvmlProcess] = _optional(lambda: getter(handle)) or []
        result: list[GpuProcess] = []
        for p in found:
            pid = int(p.pid)
            used = p.usedGpuMemory
            result.append(
                GpuProcess(pid, self._process_name(pid), kind, int(used) if used is not None else None)
            )
        return tuple(result)

    def _process_name(self, pid: int) -> str:
        name = self._names.get(pid)
        if name is None:
            raw = _optional(lambda: self.nvml.nvmlSystemGetProcessName(pid))
            name = _text(raw) if raw else f"process {pid}"
            if len(self._names) > 4096:  # pids are reused over days of uptime; keep the cache bounded
                self._names.clear()
            self._names[pid] = name
        return name


def read_inventory(nvml: NvmlModule | None = None) -> GpuInventory:
    """One reading, NVML started and shut down around it (the CLI's `farnode gpus`)."""
    reader = GpuReader(nvml)
    try:
        return reader.inventory()
    finally:
        reader.close()


def with_free(gpu: GpuInfo, free_bytes: int) -> GpuInfo:
    """The same GPU with a different free VRAM (what-if planning from the CLI)."""
    return replace(gpu, free_bytes=free_bytes, used_bytes=max(0, gpu.total_bytes - free_bytes))
