"""`farnode gpus` (each GPU and whether it can serve) and `farnode plan` (how many blocks, and why)."""

from __future__ import annotations

import argparse
import json
import os
import re
from typing import Any

from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.gpus.catalog import Catalog
from farnode_desktop.core.gpus.eligibility import assess, detect_wsl
from farnode_desktop.core.gpus.nvml import GIB, GpuInventory, NvmlModule, read_inventory
from farnode_desktop.core.gpus.planner import BlockPlan, parse_size, plan_blocks
from farnode_desktop.core.settings import Settings, SettingsStore

# Support and demos without a GPU: replay a recorded NVML snapshot instead of the driver.
FIXTURE_ENV = "FARNODE_NVML_FIXTURE"


def nvml_source() -> NvmlModule | None:
    """The NVML to read: the driver's, or the recorded snapshot named by $FARNODE_NVML_FIXTURE."""
    fixture = os.environ.get(FIXTURE_ENV)
    if not fixture:
        return None
    from farnode_desktop.core.gpus.nvml_fake import FakeNvml

    return FakeNvml.from_file(fixture)


def _settings() -> Settings:
    from farnode_desktop.core.paths import AppPaths

    return SettingsStore(AppPaths.default().config_file).load()


def register(sub: Any) -> None:
    gpus = sub.add_parser("gpus", help="list NVIDIA GPUs and whether each can serve")
    gpus.add_argument("--json", action="store_true", help="machine-readable output")
    gpus.add_argument("--model", help="judge eligibility for this model (default: the one in Settings)")
    gpus.set_defaults(handler=cmd_gpus)

    plan = sub.add_parser("plan", help="how many blocks of a model fit, with the arithmetic")
    plan.add_argument(
        "--model", required=True, help="a model from the catalog, e.g. meta-llama/Llama-2-70b-chat-hf"
    )
    where = plan.add_mutually_exclusive_group()
    where.add_argument("--gpu", type=int, help="plan for this GPU (its free VRAM now)")
    where.add_argument("--vram-free", help="plan for this much free VRAM instead, e.g. 20GiB")
    plan.add_argument(
        "--vram-total", help="with --vram-free: the card's total, to compare with Petals' own choice"
    )
    plan.add_argument("--headroom", type=float, help="GiB to keep free for the desktop and games (Settings)")
    plan.add_argument("--quantization", choices=("auto", "none", "int8", "nf4"), help="default: Settings")
    plan.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), help="default: the model's")
    plan.add_argument("--attn-cache-tokens", type=int, help="default: Petals' (16384 GQA, 4096 otherwise)")
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    plan.set_defaults(handler=cmd_plan)
    # "--vram-free -3GiB" must reach our own check ("cannot be negative") rather than argparse taking
    # "-3GiB" for an unknown option.
    plan._negative_number_matcher = re.compile(r"^-\d+$|^-\d*\.\d+$|^-\d+(\.\d+)?\s*[A-Za-z]+$")


def _gpu_lines(inv: GpuInventory) -> list[str]:
    out = [f"NVIDIA driver {inv.driver_version}, CUDA {inv.cuda_driver_text}"]
    for g in inv.gpus:
        cc = f"{g.compute_capability[0]}.{g.compute_capability[1]}" if g.compute_capability else "?"
        out.append(f"GPU {g.index}: {g.name}  ({g.uuid})")
        out.append(
            f"  VRAM {g.free_bytes / GIB:.1f} GiB free of {g.total_bytes / GIB:.1f} GiB"
            f" ({g.used_bytes / GIB:.1f} GiB used), compute capability {cc}"
        )
        parts = [
            f"{g.temperature_c} °C" if g.temperature_c is not None else "temperature n/a",
            f"GPU use {g.utilization_pct}%" if g.utilization_pct is not None else "GPU use n/a",
        ]
        if g.power_w is not None:
            parts.append(f"{g.power_w:.0f} W" + (f" of {g.power_limit_w:.0f} W" if g.power_limit_w else ""))
        out.append("  " + ", ".join(parts))
        for p in g.processes:
            used = f"{p.used_bytes / GIB:.2f} GiB" if p.used_bytes is not None else "memory n/a"
            out.append(f"  {p.kind:8} {p.pid:>7}  {p.short_name}  ({used})")
    for lost in inv.lost:
        out.append(f"GPU {lost.index}: {lost.name or '?'}  NOT ANSWERING ({lost.error})")
    return out


def cmd_gpus(args: argparse.Namespace) -> int:
    settings = _settings()
    catalog = Catalog.load()
    model = catalog.get(args.model or settings.model)
    inventory = read_inventory(nvml_source())
    verdict = assess(inventory, model, settings, wsl=detect_wsl())
    if args.json:
        print(json.dumps({"inventory": inventory.to_json(), "eligibility": verdict.to_json()}, indent=2))
        return 0 if verdict.eligible else 1
    if inventory.problem is None:
        print("\n".join(_gpu_lines(inventory)))
        print()
    print(f"Serving {model.name}: {verdict.state} - {verdict.reason}")
    if verdict.what_to_do:
        print(f"  what to do: {verdict.what_to_do}")
    for v in verdict.gpus:
        mark = "yes" if v.ok else "no "
        print(f"  [{mark}] {v.reason}" + (f"\n        what to do: {v.what_to_do}" if v.what_to_do else ""))
    for note in verdict.notes:
        print(f"note: {note}")
    return 0 if verdict.eligible else 1


def cmd_plan(args: argparse.Namespace) -> int:
    settings = _settings()
    model = Catalog.load().get(args.model)
    headroom = settings.headroom_gib if args.headroom is None else args.headroom
    common: dict[str, Any] = {
        "headroom_gib": headroom,
        "quantization": args.quantization or settings.quantization,
        "dtype": args.dtype,
        "attn_cache_tokens": args.attn_cache_tokens,
        "requested_blocks": settings.blocks,
    }
    plans: list[BlockPlan] = []
    if args.vram_free is not None:
        total = parse_size(args.vram_total, "total VRAM") if args.vram_total else None
        free = parse_size(args.vram_free, "free VRAM")
        if total is not None and free > total:
            raise UserInputError("free VRAM cannot be more than the card's total VRAM")
        plans.append(plan_blocks(model, free, total_bytes=total, **common))
    else:
        inventory = read_inventory(nvml_source())
        if inventory.problem is not None:
            raise FarNodeError(
                str(inventory.problem), (inventory.problem.hint + "; " if inventory.problem.hint else "")
                + "or plan without a GPU: farnode plan --model M --vram-free 20GiB"
            )  # fmt: skip
        gpus = inventory.gpus
        if args.gpu is not None:
            gpu = inventory.gpu(args.gpu)
            if gpu is None:
                known = ", ".join(str(g.index) for g in gpus) or "none"
                raise UserInputError(f"there is no GPU {args.gpu} on this PC", f"GPUs found: {known}")
            gpus = (gpu,)
        if not gpus:
            raise FarNodeError("no NVIDIA GPU was found", "plan without a GPU: --vram-free 20GiB")
        for g in gpus:
            label = f"GPU {g.index} ({g.name})"
            plans.append(
                plan_blocks(model, g.free_bytes, total_bytes=g.total_bytes, gpu_label=label, **common)
            )
    if args.json:
        body: Any = plans[0].to_json() if len(plans) == 1 else [p.to_json() for p in plans]
        print(json.dumps(body, indent=2))
    else:
        print("\n\n".join("\n".join(p.lines()) for p in plans))
    return 0 if all(p.ok for p in plans) else 1
