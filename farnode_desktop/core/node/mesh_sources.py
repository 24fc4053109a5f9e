"""The node's code as the node runtime sees it: a folder holding `farnode_desktop/__init__.py` and `mesh/`, nothing else."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import platformdirs

from farnode_desktop.core.atomic import write_atomic

# In a frozen app (PyInstaller) the mesh sources ship as plain .py files in this folder of the bundle.
BUNDLED_MESH_SOURCES = "mesh_src"
# In a source checkout the same layout is made under build/ (git-ignored): `mesh` links to the checkout's own, so an
# edit is live, while the rest of the app (core, ui, an egg-info or dist-info beside it) stays off the runtime's path.
CHECKOUT_MESH_SOURCES = Path("build") / BUNDLED_MESH_SOURCES
PACKAGE_INIT = '"""FarNode\'s node code for the node runtime: only `farnode_desktop.mesh` is here."""\n'
_COPY_STAMP = ".mesh-copied-from"


def frozen_bundle() -> Path | None:
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if getattr(sys, "frozen", False) and bundle else None


def app_source_root() -> Path:
    """The folder that holds this app's `farnode_desktop` package (a checkout, or the frozen bundle's PYZ root)."""
    return Path(__file__).resolve().parents[3]


def mesh_source_root() -> Path:
    """The folder the node runtime's Python gets on its path (farmesh.pth, PYTHONPATH): `farnode_desktop/mesh`
    and a minimal `farnode_desktop/__init__.py`. From a checkout it is refreshed on each call (cheap when current)."""
    bundle = frozen_bundle()
    if bundle is not None:
        return bundle / BUNDLED_MESH_SOURCES
    source = app_source_root()
    mesh = source / "farnode_desktop" / "mesh"
    try:
        return mesh_only_view(mesh, source / CHECKOUT_MESH_SOURCES)
    except OSError:  # a read-only checkout: the same view in this user's cache, one per checkout
        digest = hashlib.sha256(str(source).encode()).hexdigest()[:12]
        cache = Path(platformdirs.user_cache_dir("FarNode", "FarLabs")) / f"{BUNDLED_MESH_SOURCES}-{digest}"
        return mesh_only_view(mesh, cache)


def mesh_only_view(mesh: Path, view: Path) -> Path:
    """Make (or bring up to date) `view`/farnode_desktop/{__init__.py, mesh}, `mesh` a link to `mesh`, or a copy
    where links cannot be made; returns `view`."""
    package = view / "farnode_desktop"
    package.mkdir(parents=True, exist_ok=True)
    init = package / "__init__.py"
    if not init.is_file() or init.read_text() != PACKAGE_INIT:
        write_atomic(init, PACKAGE_INIT, mode=0o644)
    target = package / "mesh"
    if target.is_symlink() and os.readlink(target) == str(mesh):
        return view
    link = package / f".mesh-{os.getpid()}-{os.urandom(4).hex()}"  # its own name: launches may race on a first start
    try:
        link.symlink_to(mesh, target_is_directory=True)
    except OSError:  # no symbolic links here (Windows without developer mode): a copy, refreshed when mesh changes
        _copy_when_changed(mesh, target)
        return view
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    os.replace(link, target)  # atomic: a process starting now sees the old link or the new one
    return view


def _fingerprint(mesh: Path) -> str:
    files = sorted(p for p in mesh.rglob("*.py") if "__pycache__" not in p.parts)
    listing = "\n".join(f"{p.relative_to(mesh)} {p.stat().st_size} {p.stat().st_mtime_ns}" for p in files)
    return f"{mesh}\n{hashlib.sha256(listing.encode()).hexdigest()}"


def _copy_when_changed(mesh: Path, target: Path) -> None:
    stamp = target.parent / _COPY_STAMP
    wanted = _fingerprint(mesh)
    if target.is_dir() and not target.is_symlink() and stamp.is_file() and stamp.read_text() == wanted:
        return
    fresh = target.parent / f".mesh-copy-{os.getpid()}-{os.urandom(4).hex()}"
    shutil.copytree(mesh, fresh, ignore=shutil.ignore_patterns("__pycache__"))
    if target.is_symlink():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    os.replace(fresh, target)
    write_atomic(stamp, wanted, mode=0o644)
