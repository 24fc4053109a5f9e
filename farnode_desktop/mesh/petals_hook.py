"""Makes `import petals` and `import hivemind` work in any process of the node runtime as Petals 2.2 expects them.

The runtime's site-packages holds `farmesh.pth` (written by NodeRuntime.write_petals_hook), which imports this
module at interpreter start. It only puts a finder on `sys.meta_path`: nothing of hivemind, torch or petals is
imported until something imports `petals` or `hivemind`, whichever comes first. On `import petals` the finder
restores hivemind's old names (bridge.install()) before petals loads, and afterwards registers FarMesh's own model
families (farnode_desktop.mesh.models.register()) in Petals' registry and adds the names of Petals main's API
(petals_main_api.install()). On `import hivemind` (a script that runs `from hivemind import nested_compare` before
it imports petals) the bridge runs as soon as hivemind has loaded, and the families register when petals does. So
Petals' tools, benchmarks and tests (Petals main's included) run unchanged.
"""

from __future__ import annotations

import sys

# Only `sys` at module level: this module loads at every start of the runtime's interpreter, so it must cost
# next to nothing; importlib.util and the rest are imported on the first `import petals`. (Not even `typing`:
# mypy reads a name TYPE_CHECKING as true wherever it comes from.)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

FAMILIES = "farnode_desktop.mesh.models"
MAIN_API = "farnode_desktop.mesh.petals_main_api"
FIRST_IMPORTS = ("petals", "hivemind")  # the bridge runs on whichever of them a process imports first


def _after_petals() -> None:
    """Register FarMesh's model families once petals itself is loaded (when that package exists)."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(FAMILIES) is not None and importlib.import_module(FAMILIES).register():
        importlib.import_module(MAIN_API).install()  # Petals main's names on top of 2.2 (petals_main_api.py)


def _bridge() -> None:
    from farnode_desktop.mesh import bridge

    bridge.install()  # also arranges the families' registration for when petals loads (bridge.py)


def _then(inner: Loader, after: Callable[[], None]) -> Loader:
    """The package's own loader, plus `after()` once its `__init__` has run."""
    import importlib.abc

    class _Loader(importlib.abc.Loader):
        def create_module(self, spec: ModuleSpec) -> ModuleType | None:
            return inner.create_module(spec)

        def exec_module(self, module: ModuleType) -> None:
            inner.exec_module(module)
            after()

        def __getattr__(self, name: str) -> object:  # get_resource_reader, is_package, get_code ... stay the package's
            return getattr(inner, name)

    return _Loader()


class PetalsFirst:
    """A meta-path finder that acts once, on the first `import petals` or `import hivemind`, and then steps aside."""

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if name not in FIRST_IMPORTS:
            return None
        import importlib.util

        uninstall()
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return None
        if name == "petals":
            _bridge()  # hivemind's names first: petals imports them at its top
            spec.loader = _then(spec.loader, _after_petals)
        else:
            spec.loader = _then(spec.loader, _bridge)
        return spec


def install() -> None:
    """Put the finder first on sys.meta_path (idempotent; nothing happens if petals is already imported)."""
    if "petals" in sys.modules or any(isinstance(f, PetalsFirst) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, PetalsFirst())


def uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, PetalsFirst)]


install()
