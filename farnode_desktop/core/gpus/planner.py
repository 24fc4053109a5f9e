"""Block planning: how many transformer blocks fit in a GPU's FREE memory, with the arithmetic in words."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.gpus.catalog import DTYPE_BYTES, ModelSpec, runtime_problem
from farnode_desktop.core.node.runtime_lock import RuntimeNeeds, runtime_needs
from farnode_desktop.core.settings import SETTINGS

GIB = 1024**3
MIB = 1024**2
# Bytes per weight once quantised (Petals' get_block_size: nf4 measured at 4.25 bits, int8 one byte).
QUANT_BYTES = {"nf4": 4.25 / 8, "int8": 1.0}
BLOCK_OVERHEAD = 0.01  # Petals' eps: ~1% for tensor descriptors and quantisation tables
# A torch process's own CUDA context and cuBLAS workspace live outside the blocks; Petals does not count
# them because it plans from TOTAL memory. Planning from free memory we must.
CUDA_CONTEXT_BYTES = 512 * MIB
MAX_VRAM_BYTES = 1024 * GIB  # no single GPU comes near 1 TiB; more is a typo
MAX_ATTN_CACHE_TOKENS = 1 << 20


def resolve_quant(quantization: str, device: str, needs: RuntimeNeeds | None = None) -> str:
    """Settings' `auto` means what Petals does: nf4 on an NVIDIA GPU, none on the CPU; nf4 and int8 only when the
    locked build's bitsandbytes has a library for its CUDA version (the lock's metadata says)."""
    q = quantization.lower()
    SETTINGS["quantization"].check(q)
    if device != "cuda":
        if q in ("nf4", "int8"):
            raise UserInputError(f"{q} quantization needs an NVIDIA GPU", "use quantization none on the CPU")
        return "none"
    if q == "none":
        return q
    build = needs or runtime_needs()
    if build.quant_library is None:
        if q == "auto":
            return "none"
        raise UserInputError(f"{q} quantization is not available: this FarNode's runtime has no bitsandbytes library "
                             f"for CUDA {build.cuda_text}", "use quantization none, or update FarNode")
    return "nf4" if q == "auto" else q


def resolve_dtype(model: ModelSpec, dtype: str | None, device: str) -> str:
    d = (dtype or model.dtype).lower()
    if d not in DTYPE_BYTES:
        raise UserInputError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, not {dtype!r}")
    if device == "cpu" and d == "float16":
        raise UserInputError("float16 does not run on the CPU", "use float32 or bfloat16 on the CPU")
    return d


def default_attn_cache_tokens(model: ModelSpec) -> int:
    """Petals 2.2 (Server.__init__): 16384 tokens for grouped-query models, 4096 otherwise."""
    return 16384 if model.kv_groups > 1 else 4096


def block_bytes(model: ModelSpec, dtype: str, quant: str) -> int:
    """Petals' get_block_size(..., "memory"): params x bytes per weight x 1.01, rounded. nf4/int8 reach every
    weight but the norms and a MoE block's router (FarMesh serves MoE experts as Linear layers,
    `mesh/models/experts.py`), a rounding error left to Petals' 1% margin as Petals does."""
    per_value = QUANT_BYTES.get(quant, DTYPE_BYTES[dtype])
    return round(model.params_per_block * per_value * (1 + BLOCK_OVERHEAD))


def attn_cache_bytes(model: ModelSpec, dtype: str, tokens: int) -> int:
    """2 (keys and values) x kv heads x head_dim x tokens x bytes of the serving dtype. Petals writes it
    2 x hidden x tokens / kv groups, the same number wherever heads x head_dim = hidden (not Qwen3's)."""
    return 2 * model.num_key_value_heads * model.attention_head_dim * tokens * DTYPE_BYTES[dtype]


def reserve_bytes(model: ModelSpec) -> float:
    """Petals' autograd reserve for rpc_backward: 2 GiB for BLOOM-176B's hidden 14336, proportional."""
    return 2 * GIB / 14336 * model.hidden_size


def petals_auto_blocks(
    model: ModelSpec,
    total_bytes: int,
    *,
    dtype: str | None = None,
    quant: str = "nf4",
    attn_cache_tokens: int | None = None,
) -> int:
    """What Petals' own `Server._choose_num_blocks` picks: it fills TOTAL memory (0 = not one block fits)."""
    d = resolve_dtype(model, dtype, "cuda")
    tokens = attn_cache_tokens or default_attn_cache_tokens(model)
    per_block = block_bytes(model, d, quant) + attn_cache_bytes(model, d, tokens)
    n = math.floor((total_bytes - reserve_bytes(model)) / per_block)
    return max(0, min(n, model.num_layers))


@dataclass(frozen=True)
class BlockPlan:
    """How many blocks to serve and every number that led there."""

    model: str
    device: str
    dtype: str
    quant: str
    attn_cache_tokens: int
    params_per_block: int
    kv_groups: int
    free_bytes: int
    headroom_bytes: int
    context_bytes: int
    reserve_bytes: float
    block_bytes: int
    cache_bytes_per_block: int
    usable_bytes: float
    fits: int  # blocks that fit, before capping at the model's layers
    num_blocks: int  # what the node will serve
    model_layers: int
    total_bytes: int | None = None
    petals_auto_blocks: int | None = None
    requested_blocks: int | None = None
    gpu_label: str = ""
    warnings: tuple[str, ...] = field(default=())
    kv_heads: int = 0
    head_dim: int = 0

    @property
    def per_block_bytes(self) -> int:
        return self.block_bytes + self.cache_bytes_per_block

    @property
    def ok(self) -> bool:
        return self.num_blocks >= 1

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["per_block_bytes"] = self.per_block_bytes
        raw["ok"] = self.ok
        raw["warnings"] = list(self.warnings)
        return raw

    def lines(self) -> list[str]:
        """The arithmetic in plain lines, as `farnode plan` prints it."""
        g = _gib
        where = f" on {self.gpu_label}" if self.gpu_label else ""
        per_value = QUANT_BYTES.get(self.quant, DTYPE_BYTES[self.dtype])
        weights = "nf4" if self.quant == "nf4" else ("int8" if self.quant == "int8" else self.dtype)
        out = [
            f"Plan for {self.model}{where}",
            f"  free VRAM now                      {g(self.free_bytes):>9}",
            f"  - safety headroom (your setting)   {g(self.headroom_bytes):>9}",
        ]
        if self.context_bytes:
            out.append(f"  - CUDA runtime of the node         {g(self.context_bytes):>9}")
        out += [
            f"  - Petals working reserve           {g(self.reserve_bytes):>9}"
            f"   (2 GiB x hidden {self._hidden()} / 14336)",
            f"  = usable for blocks                {g(max(0.0, self.usable_bytes)):>9}",
            f"  one block: {self.params_per_block:,} params x {per_value:g} bytes ({weights}) x 1.01"
            f" = {g(self.block_bytes)}",
            f"           + attention cache 2 x {self.kv_heads} kv heads x {self.head_dim} x {self.attn_cache_tokens}"
            f" tokens x {DTYPE_BYTES[self.dtype]} bytes ({self.kv_groups} kv groups)"
            f" = {g(self.cache_bytes_per_block)}",
            f"           = {g(self.per_block_bytes)} per block",
            f"  {g(max(0.0, self.usable_bytes))} / {g(self.per_block_bytes)} = {_blocks(max(0, self.fits))}"
            + (f", capped at the model's {self.model_layers} blocks" if self.fits > self.model_layers else "")
            + (f" (the model has {self.model_layers})" if self.fits <= self.model_layers else ""),
        ]
        if self.requested_blocks is not None:
            out.append(
                f"  you chose {self.requested_blocks} blocks in Settings: the node serves {self.num_blocks}"
            )
        if self.petals_auto_blocks is not None and self.total_bytes is not None:
            out.append(
                f"  (Petals on its own would fill TOTAL memory, {g(self.total_bytes)}, with "
                f"{self.petals_auto_blocks} blocks and leave nothing for your desktop or games)"
            )
        out.append(
            f"  => serve {_blocks(self.num_blocks)}" if self.ok else "  => not enough free VRAM for one block"
        )
        out += [f"  warning: {w}" for w in self.warnings]
        return out

    def _hidden(self) -> int:
        return round(self.reserve_bytes * 14336 / (2 * GIB))


def _blocks(n: int) -> str:
    return f"{n} block" if n == 1 else f"{n} blocks"


def _gib(n: float) -> str:
    """Sizes in the unit that shows them: GiB for GPU-sized numbers, MiB or KiB for a tiny model's blocks."""
    if abs(n) >= 1024 * GIB:
        return f"{n / (1024 * GIB):.2f} TiB"
    if abs(n) >= GIB / 10 or n == 0:
        return f"{n / GIB:.2f} GiB"
    if abs(n) >= MIB / 10:
        return f"{n / MIB:.2f} MiB"
    return f"{n / 1024:.2f} KiB"


def plan_blocks(
    model: ModelSpec,
    free_bytes: int,
    *,
    total_bytes: int | None = None,
    headroom_gib: float = 1.5,
    device: str = "cuda",
    quantization: str = "auto",
    dtype: str | None = None,
    attn_cache_tokens: int | None = None,
    requested_blocks: int | None = None,
    gpu_label: str = "",
    needs: RuntimeNeeds | None = None,
) -> BlockPlan:
    """Blocks that fit in FREE memory after the provider's headroom, the CUDA context and Petals' reserve."""
    check_vram(free_bytes, "free VRAM")
    if total_bytes is not None:
        check_vram(total_bytes, "total VRAM")
    SETTINGS["headroom_gib"].check(headroom_gib)  # the settings' own range: the CLI's --headroom meets it too
    if attn_cache_tokens is not None and not 1 <= attn_cache_tokens <= MAX_ATTN_CACHE_TOKENS:
        raise UserInputError(
            f"attention cache must be 1 to {MAX_ATTN_CACHE_TOKENS} tokens, not {attn_cache_tokens}"
        )
    SETTINGS["blocks"].check(requested_blocks)
    if device == "cpu" and not model.cpu_ok:
        raise UserInputError(
            f"{model.name} is too large to serve on a CPU", "pick a GPU or farlabs/tiny-demo"
        )
    needs = needs or runtime_needs()
    quant = resolve_quant(quantization, device, needs)
    d = resolve_dtype(model, dtype, device)
    tokens = attn_cache_tokens or default_attn_cache_tokens(model)
    headroom = round(headroom_gib * GIB)
    context = CUDA_CONTEXT_BYTES if device == "cuda" else 0
    reserve = reserve_bytes(model)
    weights = block_bytes(model, d, quant)
    cache = attn_cache_bytes(model, d, tokens)
    usable = free_bytes - headroom - context - reserve
    fits = math.floor(usable / (weights + cache)) if usable > 0 else 0
    num = min(fits, model.num_layers)
    warnings: list[str] = []
    runtime = runtime_problem(model, needs.transformers)
    if runtime is not None:
        warnings.append(runtime + ": the node does not start it until FarNode is updated")
    if requested_blocks is not None:
        if requested_blocks > num:
            warnings.append(
                f"{requested_blocks} blocks need "
                f"{_gib(requested_blocks * (weights + cache) + reserve + context)}"
                f" but only {_gib(max(0, free_bytes - headroom))} is free beyond your headroom: "
                "the node may run out of memory or crowd out games"
            )
        num = min(requested_blocks, model.num_layers)
    auto = None
    if total_bytes is not None and device == "cuda":
        auto = petals_auto_blocks(model, total_bytes, dtype=d, quant=quant, attn_cache_tokens=tokens)
    return BlockPlan(
        model=model.name,
        device=device,
        dtype=d,
        quant=quant,
        attn_cache_tokens=tokens,
        params_per_block=model.params_per_block,
        kv_groups=model.kv_groups,
        free_bytes=free_bytes,
        headroom_bytes=headroom,
        context_bytes=context,
        reserve_bytes=reserve,
        block_bytes=weights,
        cache_bytes_per_block=cache,
        usable_bytes=usable,
        fits=fits,
        num_blocks=max(0, num),
        model_layers=model.num_layers,
        total_bytes=total_bytes,
        petals_auto_blocks=auto,
        requested_blocks=requested_blocks,
        gpu_label=gpu_label,
        warnings=tuple(warnings),
        kv_heads=model.num_key_value_heads,
        head_dim=model.attention_head_dim,
    )


def check_vram(value: float, what: str) -> None:
    if math.isnan(value) or value < 0:
        raise UserInputError(f"{what} cannot be negative ({_gib(value) if not math.isnan(value) else value})")
    if value > MAX_VRAM_BYTES:
        raise UserInputError(
            f"{what} of {_gib(value)} is more than any single GPU has", "give the size of one GPU, e.g. 24GiB"
        )


_SIZE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_UNITS = {
    "": GIB, "g": GIB, "gib": GIB, "gb": 10**9,
    "m": MIB, "mib": MIB, "mb": 10**6,
    "t": 1024 * GIB, "tib": 1024 * GIB, "tb": 10**12,
    "k": 1024, "kib": 1024, "kb": 1000, "b": 1,
}  # fmt: skip


def parse_size(text: str, what: str = "VRAM") -> int:
    """`20GiB`, `20 GB`, `20480MiB` or a bare number of GiB, into bytes; nonsense gets a plain error."""
    match = _SIZE.match(text or "")
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise UserInputError(
            f"could not read {text!r} as an amount of {what}", "write it like 20GiB, 20480MiB or 20 (GiB)"
        )
    value = float(match.group(1)) * _UNITS[unit]
    check_vram(value, what)
    return int(value)
