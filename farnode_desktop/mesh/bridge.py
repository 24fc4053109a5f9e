"""The hivemind 1.1.12 namespace bridge: restores the names Petals 2.2 imports from hivemind's top level."""

from __future__ import annotations

import builtins
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

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


def is_installed() -> bool:
    return _installed


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
    from farnode_desktop.mesh import compat5

    added += len(compat5.install())  # transformers 5 / peft 0.22 dropped names Petals 2.2 imports
    register_families_with_petals()
    _installed = True
    return added


class _AfterPetalsImport(importlib.abc.MetaPathFinder):
    """Runs FarMesh's family registration right after `petals` finishes importing (its own models register first)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != "petals":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader

        class _Loader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> Any:
                return original.create_module(spec)

            def exec_module(self, module: ModuleType) -> None:
                original.exec_module(module)
                _register_now()

        spec.loader = _Loader()
        return spec


def _register_now() -> None:
    for finder in [f for f in sys.meta_path if isinstance(f, _AfterPetalsImport)]:
        sys.meta_path.remove(finder)
    from farnode_desktop.mesh import models

    if models.register():
        from farnode_desktop.mesh import petals_main_api

        petals_main_api.install()  # Petals main's names on top of Petals 2.2


def register_families_with_petals() -> None:
    """FarMesh's model families (mesh/models) replace Petals 2.2's in its registry: now if `petals` is imported,
    else as soon as it is (without importing petals, torch or transformers here). With a transformers older than
    the families need (a runtime from before transformers 5), Petals 2.2's own families stay."""
    from farnode_desktop.mesh import models

    if not models.supported_here():
        return
    petals = sys.modules.get("petals")
    if petals is not None and getattr(petals, "__version__", None):
        _register_now()
    elif not any(isinstance(f, _AfterPetalsImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterPetalsImport())
