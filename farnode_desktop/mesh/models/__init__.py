"""FarMesh's model families for Petals 2.2 on transformers 5 (Llama, Mixtral, Falcon, BLOOM, Qwen3, Qwen3-MoE), put
into Petals' own model registry (`petals.utils.auto_config`) in place of 2.2's, plus the rollback protocol of current
clients, fused MoE experts on load and the head size fix of Petals' backend."""

from __future__ import annotations

import importlib
import re
from importlib import metadata

FAMILY_MODULES = ("llama", "mixtral", "falcon", "bloom", "qwen3", "qwen3_moe")
MIN_TRANSFORMERS = (5, 0)  # the Cache, rotary and attention APIs of transformers 5 that these families use
_registered = False


def transformers_version() -> tuple[int, int] | None:
    """The installed transformers' (major, minor), read from its metadata without importing it."""
    try:
        match = re.match(r"(\d+)\.(\d+)", metadata.version("transformers"))
    except metadata.PackageNotFoundError:
        return None
    return (int(match.group(1)), int(match.group(2))) if match else None


def supported_here() -> bool:
    """Whether this Python's transformers is one FarMesh's families are written for."""
    version = transformers_version()
    return version is not None and version >= MIN_TRANSFORMERS


def register() -> list[str]:
    """Register every family with Petals (replacing 2.2's llama/falcon/bloom); idempotent. Returns the model types
    registered: none with a transformers older than the families need (Petals 2.2's own families then stay)."""
    global _registered
    if _registered:
        return list(FAMILY_MODULES)
    if not supported_here():
        return []
    import petals
    from petals.utils import auto_config

    from farnode_desktop.mesh.models import checkpoint, rollback, server_fixes

    for name in FAMILY_MODULES:
        module = importlib.import_module(f"farnode_desktop.mesh.models.{name}")
        classes = module.CLASSES
        auto_config._CLASS_MAPPING.pop(classes["config"].model_type, None)
        auto_config.register_model_classes(**classes)
        # Code that names the classes (`petals.DistributedLlamaForCausalLM`, ...) gets FarMesh's too.
        for cls in classes.values():
            if cls is None:
                continue
            for holder in (petals, getattr(petals.models, name, None)):
                if holder is not None:
                    setattr(holder, cls.__name__, cls)
    rollback.install()
    checkpoint.install()
    server_fixes.install()
    _registered = True
    return list(FAMILY_MODULES)
