"""Can this PC serve, and which GPUs? Plain-language verdicts with the reason and what to do."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from farnode_desktop.core.gpus.catalog import ModelSpec, runtime_problem
from farnode_desktop.core.gpus.nvml import GIB, GpuInfo, GpuInventory
from farnode_desktop.core.gpus.planner import BlockPlan, plan_blocks
from farnode_desktop.core.node.runtime_lock import RuntimeNeeds, runtime_needs
from farnode_desktop.core.settings import Settings


def _cuda_text(v: int) -> str:
    return f"{v // 1000}.{(v % 1000) // 10}"


class SystemState(StrEnum):
    READY = "ready"
    NO_DRIVER = "no NVIDIA driver"
    DRIVER_NOT_LOADED = "NVIDIA driver not running"
    NO_GPU = "no NVIDIA GPU"
    DRIVER_TOO_OLD = "driver too old"
    NVML_ERROR = "driver not answering"
    NO_ELIGIBLE_GPU = "no GPU can serve"
    MODEL_NOT_SERVABLE = "model not servable"


class GpuState(StrEnum):
    ELIGIBLE = "eligible"
    LEFT_OUT = "left out"
    DRIVER_TOO_OLD = "driver too old"
    COMPUTE_TOO_LOW = "compute capability too low"
    NOT_ENOUGH_VRAM = "not enough free VRAM"
    LOST = "not answering"


@dataclass(frozen=True)
class GpuVerdict:
    """One GPU: can it serve, why not, and what the provider can do about it."""

    index: int
    uuid: str | None
    name: str
    state: GpuState
    reason: str
    what_to_do: str = ""
    plan: BlockPlan | None = None

    @property
    def ok(self) -> bool:
        return self.state is GpuState.ELIGIBLE

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index, "uuid": self.uuid, "name": self.name, "state": str(self.state),
            "ok": self.ok, "reason": self.reason, "what_to_do": self.what_to_do,
            "plan": self.plan.to_json() if self.plan else None,
        }  # fmt: skip


@dataclass(frozen=True)
class Eligibility:
    """The whole PC: a headline state, one verdict per GPU, and notes such as running under WSL."""

    state: SystemState
    reason: str
    what_to_do: str = ""
    gpus: tuple[GpuVerdict, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def eligible(self) -> tuple[GpuVerdict, ...]:
        return tuple(v for v in self.gpus if v.ok)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state), "reason": self.reason, "what_to_do": self.what_to_do,
            "gpus": [v.to_json() for v in self.gpus], "notes": list(self.notes),
        }  # fmt: skip


WSL_NOTE = (
    "FarNode is running inside WSL2. The GPU is driven by the Windows NVIDIA driver (do not install a Linux "
    "driver inside WSL); Windows programs and games are invisible from here, so games-first pausing can only "
    "see the GPU's load and memory, not which game is running. Run FarNode's Windows app for full game "
    "detection."
)


def detect_wsl(read: Callable[[Path], str] | None = None, environ: dict[str, str] | None = None) -> bool:
    """WSL's kernel says "microsoft" in its release string; WSL also sets WSL_DISTRO_NAME."""
    env = os.environ if environ is None else environ
    if env.get("WSL_DISTRO_NAME") or env.get("WSL_INTEROP"):
        return True
    reader = read or (lambda p: p.read_text(encoding="utf-8", errors="replace"))
    try:
        return "microsoft" in reader(Path("/proc/sys/kernel/osrelease")).lower()
    except OSError:
        return False


def assess(
    inventory: GpuInventory,
    model: ModelSpec,
    settings: Settings,
    needs: RuntimeNeeds | None = None,
    wsl: bool = False,
) -> Eligibility:
    """Judge the PC and each GPU for serving `model` with the provider's settings and the locked GPU build."""
    needs = needs or runtime_needs()
    notes = (WSL_NOTE,) if wsl else ()
    problem = inventory.problem
    if problem is not None:
        state = {
            "no_driver": SystemState.NO_DRIVER,
            "driver_not_loaded": SystemState.DRIVER_NOT_LOADED,
        }.get(problem.code, SystemState.NVML_ERROR)
        hint = problem.hint
        if wsl and state is SystemState.NO_DRIVER:
            hint = (
                "install the NVIDIA driver on Windows (not inside WSL); check that `nvidia-smi` works in WSL"
            )
        return Eligibility(state, str(problem), hint, notes=notes)
    lost = tuple(
        GpuVerdict(g.index, g.uuid, g.name or f"GPU {g.index}", GpuState.LOST,
                   f"GPU {g.index} stopped answering the driver ({g.error})",
                   "check the card's power cables and seating, then restart the PC")
        for g in inventory.lost
    )  # fmt: skip
    if not inventory.gpus and not lost:
        return Eligibility(
            SystemState.NO_GPU,
            "the NVIDIA driver runs but finds no NVIDIA GPU",
            "FarNode serves from NVIDIA GPUs; check the card is seated and enabled in the BIOS",
            notes=notes,
        )
    runtime = runtime_problem(model, needs.transformers)
    if runtime is not None:
        return Eligibility(SystemState.MODEL_NOT_SERVABLE, runtime,
                           "choose another model in Settings, or update FarNode to get the newer node runtime",
                           notes=notes)
    cuda = inventory.cuda_driver_version
    driver_old = cuda is not None and cuda < needs.min_cuda_driver
    verdicts = [_judge(g, model, settings, needs, driver_old, inventory) for g in inventory.gpus] + list(lost)
    verdicts.sort(key=lambda v: v.index)
    if driver_old:
        return Eligibility(
            SystemState.DRIVER_TOO_OLD,
            f"the NVIDIA driver {inventory.driver_version} supports CUDA up to {inventory.cuda_driver_text}; "
            f"FarNode's runtime is built with CUDA {needs.cuda_text} and needs a driver that supports CUDA "
            f"{_cuda_text(needs.min_cuda_driver)}",
            f"update the NVIDIA driver to {needs.min_driver} or newer (nvidia.com/drivers, or your distribution's "
            "driver packages), then restart",
            tuple(verdicts),
            notes,
        )
    if not any(v.ok for v in verdicts):
        first = next((v for v in verdicts if v.state is not GpuState.LEFT_OUT), verdicts[0])
        return Eligibility(
            SystemState.NO_ELIGIBLE_GPU,
            "no GPU on this PC can serve right now: " + first.reason,
            first.what_to_do,
            tuple(verdicts),
            notes,
        )
    n = sum(v.ok for v in verdicts)
    return Eligibility(
        SystemState.READY, f"{n} GPU{'s' if n > 1 else ''} ready to serve", "", tuple(verdicts), notes
    )


def _judge(
    gpu: GpuInfo,
    model: ModelSpec,
    settings: Settings,
    needs: RuntimeNeeds,
    driver_old: bool,
    inventory: GpuInventory,
) -> GpuVerdict:
    label = f"GPU {gpu.index} ({gpu.name})"

    def verdict(state: GpuState, reason: str, todo: str = "", plan: BlockPlan | None = None) -> GpuVerdict:
        return GpuVerdict(gpu.index, gpu.uuid, gpu.name, state, reason, todo, plan)

    if gpu.uuid in settings.excluded_gpus:
        return verdict(
            GpuState.LEFT_OUT, f"{label} is left out in your settings", "include it again in Settings"
        )
    if driver_old:
        return verdict(
            GpuState.DRIVER_TOO_OLD,
            f"{label}: driver {inventory.driver_version} is too old for FarNode's "
            f"CUDA {needs.cuda_text} runtime",
            f"update the NVIDIA driver to {needs.min_driver} or newer and restart",
        )
    cc = gpu.compute_capability
    if cc is not None and not needs.covers(cc):
        want = ".".join(map(str, needs.min_compute_capability))
        older = cc < needs.min_compute_capability
        return verdict(
            GpuState.COMPUTE_TOO_LOW,
            f"{label} has compute capability {cc[0]}.{cc[1]}; FarNode's CUDA {needs.cuda_text} runtime has "
            f"kernels for compute capability {needs.covered_text}"
            + (f", so it needs {want} or newer (a GeForce GTX 16 / RTX 20 series card or newer)" if older else ""),
            "this card cannot serve with FarNode: leave it out in Settings, or serve from a newer NVIDIA GPU"
            if older else "update FarNode: this FarNode's runtime was built before this GPU generation",
        )
    plan = plan_blocks(
        model,
        gpu.free_bytes,
        needs=needs,
        total_bytes=gpu.total_bytes,
        headroom_gib=settings.headroom_gib,
        quantization=settings.quantization,
        gpu_label=label,
    )
    if not plan.ok:
        need = (plan.per_block_bytes + plan.headroom_bytes + plan.context_bytes + plan.reserve_bytes) / GIB
        return verdict(
            GpuState.NOT_ENOUGH_VRAM,
            f"{label} has {gpu.free_bytes / GIB:.1f} GiB free; one block of {model.name} needs about "
            f"{need:.1f} GiB with your {settings.headroom_gib:g} GiB headroom",
            "close programs using the GPU, lower the headroom in Settings, or choose a smaller model",
            plan,
        )
    return verdict(GpuState.ELIGIBLE, f"{label} can serve {plan.num_blocks} blocks of {model.name}", "", plan)
