"""The folder the node runtime gets on its path: `farnode_desktop/__init__.py` and `mesh/` alone, kept current."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from farnode_desktop.core.node import mesh_sources
from farnode_desktop.core.node.mesh_sources import PACKAGE_INIT, mesh_only_view, mesh_source_root

ROOT = Path(__file__).resolve().parents[3]


def _checkout(tmp_path: Path) -> Path:
    mesh = tmp_path / "src" / "farnode_desktop" / "mesh"
    (mesh / "models").mkdir(parents=True)
    (mesh / "__init__.py").write_text("")
    (mesh / "serve.py").write_text("SERVE = 1\n")
    (mesh / "models" / "llama.py").write_text("")
    (tmp_path / "src" / "farnode_desktop" / "core").mkdir()
    (tmp_path / "src" / "farnode_desktop.egg-info").mkdir()
    return mesh


def test_from_a_checkout_the_runtime_gets_the_mesh_package_alone() -> None:
    view = mesh_source_root()
    assert view == ROOT / "build" / "mesh_src"
    package = view / "farnode_desktop"
    assert sorted(p.name for p in view.iterdir()) == ["farnode_desktop"]  # no egg-info, no resources beside it
    listed = sorted(p.name for p in package.iterdir() if p.name != "__pycache__" and not p.name.startswith("."))
    assert listed == ["__init__.py", "mesh"]
    assert (package / "__init__.py").read_text() == PACKAGE_INIT  # not the app's: no version, no metadata
    assert (package / "mesh").resolve() == ROOT / "farnode_desktop" / "mesh"  # live: an edit needs no refresh
    assert (package / "mesh" / "serve.py").is_file()


def test_the_view_follows_the_checkout_and_repairs_itself(tmp_path: Path) -> None:
    mesh = _checkout(tmp_path)
    view = mesh_only_view(mesh, tmp_path / "view")
    assert sorted(p.name for p in (view / "farnode_desktop").iterdir()) == ["__init__.py", "mesh"]
    assert (view / "farnode_desktop" / "mesh" / "serve.py").read_text() == "SERVE = 1\n"
    moved = tmp_path / "moved" / "mesh"
    moved.parent.mkdir()
    mesh.rename(moved)  # the app moved: the next call points the link at its new place
    (view / "farnode_desktop" / "__init__.py").write_text("import farnode_desktop.core\n")  # and a stale init
    mesh_only_view(moved, view)
    assert os.readlink(view / "farnode_desktop" / "mesh") == str(moved)
    assert (view / "farnode_desktop" / "__init__.py").read_text() == PACKAGE_INIT


def test_where_links_cannot_be_made_a_copy_is_kept_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mesh = _checkout(tmp_path)
    (mesh / "__pycache__").mkdir()
    (mesh / "__pycache__" / "serve.cpython-311.pyc").write_bytes(b"stale")

    def no_links(self: Path, target: Path, target_is_directory: bool = False) -> None:
        raise OSError("symbolic links are not allowed here")

    monkeypatch.setattr(Path, "symlink_to", no_links)
    copy = mesh_only_view(mesh, tmp_path / "view") / "farnode_desktop" / "mesh"
    assert not copy.is_symlink() and (copy / "models" / "llama.py").is_file()
    assert not (copy / "__pycache__").exists()
    made = (copy / "serve.py").stat().st_mtime_ns
    mesh_only_view(mesh, tmp_path / "view")  # nothing changed: nothing copied
    assert (copy / "serve.py").stat().st_mtime_ns == made
    (mesh / "serve.py").write_text("SERVE = 2\n")
    os.utime(mesh / "serve.py", ns=(made + 10**9, made + 10**9))
    mesh_only_view(mesh, tmp_path / "view")
    assert (copy / "serve.py").read_text() == "SERVE = 2\n"


def test_a_read_only_checkout_gets_its_view_in_the_users_cache(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    mesh = _checkout(tmp_path)
    (tmp_path / "src" / "build").write_text("a file where the view's folder would go")
    monkeypatch.setattr(mesh_sources, "app_source_root", lambda: tmp_path / "src")
    monkeypatch.setattr(mesh_sources.platformdirs, "user_cache_dir", lambda *a: str(tmp_path / "cache"))
    view = mesh_source_root()
    assert view.parent == tmp_path / "cache" and view.name.startswith("mesh_src-")
    assert (view / "farnode_desktop" / "mesh").resolve() == mesh


def test_a_frozen_app_gives_its_bundled_mesh_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert mesh_source_root() == tmp_path / "mesh_src"  # the spec ships farnode_desktop/__init__.py + mesh/ there
    assert not (tmp_path / "mesh_src").exists()  # nothing is made in the bundle


def test_launches_that_race_on_a_first_start_all_get_the_view(tmp_path: Path) -> None:
    mesh = _checkout(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        views = list(pool.map(lambda _: mesh_only_view(mesh, tmp_path / "view"), range(32)))
    assert set(views) == {tmp_path / "view"}
    package = tmp_path / "view" / "farnode_desktop"
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "mesh"]  # a link, no copy, no leftovers
    assert os.readlink(package / "mesh") == str(mesh)
