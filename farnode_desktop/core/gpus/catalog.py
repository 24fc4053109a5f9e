"""The model catalog: the models a node can serve and the sizes the planner needs; the signed catalog the update
channel verified (data/updates/verified/models.json) when there is one, else resources/models.json."""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.node.runtime_lock import version_tuple
from farnode_desktop.core.paths import AppPaths

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


def verified_catalog_path(paths: AppPaths) -> Path:
    """Where the update client installs the catalog it verified (core/updates)."""
    return paths.data / "updates" / "verified" / "models.json"


def catalog_path(paths: AppPaths | None = None) -> Path:
    """$FARNODE_CATALOG, else the verified catalog from the update channel, else resources/models.json next to
    the source tree (or in a frozen build's bundle)."""
    override = os.environ.get("FARNODE_CATALOG")
    if override:
        return Path(override)
    verified = verified_catalog_path(paths or AppPaths.default())
    if verified.is_file():
        return verified
    return shipped_catalog_path()


def shipped_catalog_path() -> Path:
    """resources/models.json in a source checkout, or in a frozen build's bundle."""
    here = Path(__file__).resolve()
    for base in (here.parents[3], here.parents[2]):  # source checkout, then a bundle with resources inside
        candidate = base / "resources" / "models.json"
        if candidate.exists():
            return candidate
    return here.parents[3] / "resources" / "models.json"


@dataclass(frozen=True)
class ModelSpec:
    """One servable model: its transformer blocks' shape and the dtype Petals serves it in."""

    name: str
    display: str
    family: str  # llama | mixtral | falcon | bloom | qwen3 | qwen3_moe
    num_layers: int
    hidden_size: int
    intermediate_size: int
    num_attention_heads: int
    num_key_value_heads: int
    kv_groups: int
    params_per_block: int
    dtype: str
    cpu_ok: bool = False
    num_experts: int = 1
    local: bool = False
    petals: str = ""
    # the node runtime's transformers must be this or newer to serve the model: to load its config, and for
    # FarMesh's own code for its family (Qwen3's is written for transformers 5)
    min_transformers: str = ""
    head_dim: int = 0  # the config's explicit head_dim (Qwen3: heads x head_dim != hidden); 0 = hidden / heads
    moe_intermediate_size: int = 0  # each expert's MLP width where it differs from intermediate_size (Qwen3-MoE)

    @property
    def attention_head_dim(self) -> int:
        return self.head_dim or self.hidden_size // self.num_attention_heads

    @property
    def expert_intermediate_size(self) -> int:
        return self.moe_intermediate_size or self.intermediate_size

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ModelSpec:
        known = set(cls.__dataclass_fields__)
        spec = cls(**{k: v for k, v in raw.items() if k in known})
        spec.check()
        return spec

    def check(self) -> None:
        """Refuse an entry whose numbers disagree with its own architecture (a typo would mis-plan VRAM)."""
        if self.dtype not in DTYPE_BYTES:
            raise FarNodeError(f"model {self.name}: unknown dtype {self.dtype!r} in the catalog")
        if self.num_attention_heads // self.num_key_value_heads != self.kv_groups:
            raise FarNodeError(f"model {self.name}: kv_groups does not match its attention heads")
        if self.head_dim < 0 or self.moe_intermediate_size < 0 or self.num_experts < 1:
            raise FarNodeError(f"model {self.name}: head_dim, moe_intermediate_size and num_experts cannot be "
                               "negative or zero experts")
        if self.family in MOE_FAMILIES and self.num_experts < 2:
            raise FarNodeError(f"model {self.name}: a {self.family} model needs num_experts (2 or more)")
        if self.family in ("qwen3", "qwen3_moe") and not self.head_dim:
            raise FarNodeError(f"model {self.name}: a {self.family} model needs its config's head_dim")
        if self.family == "qwen3_moe" and not self.moe_intermediate_size:
            raise FarNodeError(f"model {self.name}: a qwen3_moe model needs its config's moe_intermediate_size")
        expected = block_params(self)
        if expected != self.params_per_block:
            raise FarNodeError(
                f"model {self.name}: params_per_block is {self.params_per_block}, "
                f"its architecture gives {expected}"
            )

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


MOE_FAMILIES = ("mixtral", "qwen3_moe")


def block_params(spec: ModelSpec) -> int:
    """Parameters in one transformer block, counted the way `sum(p.numel() for p in block.parameters())` does.

    Attention (no biases): q and o are h x heads*d each, k and v h x kv_heads*d each (d = head_dim; GQA).
    llama:     attention; MLP gate/up/down = 3*h*inter; 2 RMSNorms of h.
    mixtral:   attention; experts x 3*h*inter; a router of h*experts; 2 RMSNorms of h.
    qwen3:     llama's, plus RMSNorms of d on q and k (2d).
    qwen3_moe: qwen3's attention and norms; all experts x 3*h*moe_inter (every expert lives in the block's memory,
               though a token uses only a few); a router of h*experts.
    falcon (new decoder architecture, no biases): fused qkv h*(h + 2*h/kv_groups), dense h*h,
               MLP 2*h*inter (inter = 4h), two LayerNorms with bias (4h).
    bloom:     fused qkv 3h*h + 3h, dense h*h + h, MLP h*inter + inter + inter*h + h, two LayerNorms (4h).
    """
    h, inter, g = spec.hidden_size, spec.intermediate_size, spec.kv_groups
    d = spec.attention_head_dim
    attention = 2 * h * spec.num_attention_heads * d + 2 * h * spec.num_key_value_heads * d
    if spec.family == "llama":
        return attention + 3 * h * inter + 2 * h
    if spec.family == "qwen3":
        return attention + 2 * d + 3 * h * inter + 2 * h
    if spec.family in MOE_FAMILIES:
        qk_norms = 2 * d if spec.family == "qwen3_moe" else 0
        return attention + qk_norms + expert_params(spec) + h * spec.num_experts + 2 * h
    if spec.family == "falcon":
        return h * (h + 2 * (h // g)) + h * h + 2 * h * inter + 4 * h
    if spec.family == "bloom":
        return 3 * h * h + 3 * h + h * h + h + h * inter + inter + inter * h + h + 4 * h
    raise FarNodeError(f"model {spec.name}: the planner does not know the {spec.family!r} architecture")


def expert_params(spec: ModelSpec) -> int:
    """The parameters of all of a block's experts (gate, up and down of each); 0 for a dense model."""
    if spec.family not in MOE_FAMILIES:
        return 0
    return spec.num_experts * 3 * spec.hidden_size * spec.expert_intermediate_size


def runtime_problem(spec: ModelSpec, transformers: str) -> str | None:
    """Why a node runtime with this transformers cannot serve `spec` (None: it can)."""
    if spec.min_transformers and version_tuple(transformers) < version_tuple(spec.min_transformers):
        return (f"{spec.name} needs the newer node runtime: FarMesh serves it on transformers "
                f"{spec.min_transformers} or newer, and this FarNode's runtime has {transformers}")
    return None


class Catalog:
    """The models, looked up by their Hugging Face name (case-insensitive), with suggestions for typos."""

    def __init__(self, models: list[ModelSpec]) -> None:
        self.models = models
        self._by_key = {m.name.lower(): m for m in models}

    @classmethod
    def parse(cls, raw: Any, source: str) -> Catalog:
        """The catalog in parsed JSON; FarNodeError names what is wrong (every entry is checked)."""
        try:
            models = [ModelSpec.from_json(m) for m in raw["models"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise FarNodeError(f"the model catalog {source} could not be read ({exc})",
                               "reinstall FarNode Desktop") from exc
        if not models:
            raise FarNodeError(f"the model catalog {source} lists no models", "reinstall FarNode Desktop")
        return cls(models)

    @classmethod
    def load(cls, path: Path | None = None, paths: AppPaths | None = None) -> Catalog:
        """The catalog in `path`, else the one FarNode reads (catalog_path); a verified catalog damaged on disk
        since it was installed falls back to the shipped one rather than stopping the app."""
        if path is None:
            path = catalog_path(paths)
            if path != shipped_catalog_path() and not os.environ.get("FARNODE_CATALOG"):
                try:
                    return cls.load(path)
                except FarNodeError:
                    return cls.load(shipped_catalog_path())
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FarNodeError(
                f"the model catalog {path} could not be read ({exc})", "reinstall FarNode Desktop"
            ) from exc
        return cls.parse(raw, str(path))

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def offered(self, transformers: str) -> list[ModelSpec]:
        """The models a node runtime with this transformers can serve (the others wait for a newer runtime)."""
        return [m for m in self.models if runtime_problem(m, transformers) is None]

    def get(self, name: str) -> ModelSpec:
        key = name.strip().lower()
        found = self._by_key.get(key)
        if found is not None:
            return found
        short = {m.name.split("/")[-1].lower(): m for m in self.models}
        if key in short:
            return short[key]
        raise UserInputError(f"FarNode does not know the model {name!r}", self._suggest(key))

    def _suggest(self, key: str) -> str:
        keys = list(self._by_key) + [k.split("/")[-1] for k in self._by_key]
        close = difflib.get_close_matches(key, keys, n=3, cutoff=0.5)
        # A fragment like "llama-2" or "405b" is often a substring rather than a close spelling.
        close += [k for k in self._by_key if key and key in k and k not in close]
        names: list[str] = []
        for k in close:
            model = self._by_key.get(k) or next(m for m in self.models if m.name.lower().endswith("/" + k))
            if model.name not in names:
                names.append(model.name)
        if names:
            return "did you mean " + " or ".join(names[:3]) + "?"
        return "known models: " + ", ".join(self.names())
