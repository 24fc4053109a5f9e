"""The hivemind 1.1.12 namespace bridge: restores the names Petals 2.2 imports from hivemind's top level."""

from __future__ import annotations

import builtins
import importlib
import os
from types import ModuleType

# Submodules whose public names hivemind <= 1.1.10 re-exported from `hivemind` and `hivemind.utils`.
_TOP_LEVEL_SOURCES = ("hivemind.compression", "hivemind.p2p", "hivemind.utils")
_UTILS_SOURCES = (
    "hivemind.utils.asyncio",
    "hivemind.utils.logging",
    "hivemind.utils.mpfuture",
    "hivemind.utils.nested",
    "hivemind.utils.networking",
    "hivemind.utils.serializer",
    "hivemind.utils.tensor_descr",
    "hivemind.utils.timed_storage",
    "hivemind.utils.limits",
    "hivemind.utils.performance_ema",
    "hivemind.utils.streaming",
    "hivemind.utils.crypto",
    "hivemind.utils.auth",
    "hivemind.utils.math",
)
_installed = False


def _public_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


def _fill(target: ModuleType, source: ModuleType) -> int:
    added = 0
    for name in _public_names(source):
        if not hasattr(target, name) and hasattr(source, name):
            setattr(target, name, getattr(source, name))
            added += 1
    return added


def install() -> int:
    """Patch hivemind's namespaces in this process (idempotent); returns how many names were restored."""
    global _installed
    if _installed:
        return 0
    # Petals otherwise asserts transformers < 4.35; the runtime lock pins a version it works with.
    os.environ.setdefault("PETALS_IGNORE_DEPENDENCY_VERSION", "1")
    hivemind = importlib.import_module("hivemind")
    utils = importlib.import_module("hivemind.utils")
    added = 0
    for name in _UTILS_SOURCES:
        try:
            added += _fill(utils, importlib.import_module(name))
        except ImportError:  # a submodule that a later hivemind drops must not break the bridge
            continue
    for name in _TOP_LEVEL_SOURCES:
        added += _fill(hivemind, importlib.import_module(name))
    hm_asyncio = importlib.import_module("hivemind.utils.asyncio")
    if not hasattr(hm_asyncio, "anext"):
        hm_asyncio.anext = builtins.anext  # type: ignore[attr-defined]
        added += 1
    for name in ("anext",):
        if not hasattr(hivemind, name):
            setattr(hivemind, name, hm_asyncio.anext)
            added += 1
    if not hasattr(utils, "anext"):
        utils.anext = hm_asyncio.anext  # type: ignore[attr-defined]
    _installed = True
    return added
