"""Preparing a new node runtime beside the current one: a real second runtime (a hard-link clone of the test runtime)
with one small pure-Python wheel changed by pip, the current runtime's files untouched, a full disk refused with
its figures, and a runtime that fails its check never made ready, so never switched to."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.runtime_versions import READY, RuntimeVersions
from farnode_desktop.core.updates.runtime_prepare import lock_changes, prepare
from tests.core.updates.runtime_rig import clone_runtime, fingerprint, lock_with, variant_wheel


@pytest.fixture
def current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NodeRuntime:
    runtime = clone_runtime(tmp_path / "data" / "runtime")
    assert runtime.is_installed()
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    return runtime


def _version(runtime: NodeRuntime, module: str) -> str:
    return subprocess.run([str(runtime.python), "-c", f"import {module}; print({module}.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_one_changed_wheel_is_all_pip_changes_and_the_current_runtime_is_untouched(
        tmp_path: Path, current: NodeRuntime) -> None:
    wheel = variant_wheel(current, "six", "1.17.0.post1", tmp_path / "wheels",
                          {"six.py": (current.site_packages / "six.py").read_bytes().replace(
                              b'__version__ = "1.17.0"', b'__version__ = "1.17.0.post1"')})
    lock = lock_with(current, "six", wheel)
    assert lock_changes(current.lock.read_text(), lock.decode()) == (["six"], [])
    before = fingerprint(current.location)
    versions = RuntimeVersions(current.location)
    said: list[str] = []
    prepared = prepare(versions, lock, b'{"cuda_build": 13000}', trial=None,
                       progress=lambda message, done, total: said.append(message))
    assert prepared.changed == ["six"] and (prepared.folder / READY).is_file()
    assert "cloning the current runtime (1 package to change)" in said  # not "1 package(s)"
    fresh = NodeRuntime(prepared.folder)
    assert fresh.is_installed() and fresh.lock.read_bytes() == lock
    assert _version(fresh, "six") == "1.17.0.post1" and _version(current, "six") == "1.17.0"
    assert fresh.check().ok
    # the new runtime's scripts and venv name its own folder, not the current one's
    assert str(prepared.folder) in (prepared.folder / "pyvenv.cfg").read_text()
    assert (prepared.folder / "bin" / "pip").read_text().startswith(f"#!{prepared.folder}/bin/python")
    # every file of the current runtime is the same file, byte for byte (inode, size, mtime; contents hashed)
    assert fingerprint(current.location) == before
    # unchanged packages are the very same files (hard links), the changed one is new
    torch_init = "lib/python3.11/site-packages/torch/__init__.py"
    assert (prepared.folder / torch_init).stat().st_ino == (current.location / torch_init).stat().st_ino
    assert (fresh.site_packages / "six.py").stat().st_ino != (current.site_packages / "six.py").stat().st_ino


def test_a_full_disk_is_refused_with_the_figures_before_anything_is_written(current: NodeRuntime,
                                                                            tmp_path: Path) -> None:
    wheel = variant_wheel(current, "six", "1.17.0.post1", tmp_path / "wheels")
    versions = RuntimeVersions(current.location)
    with pytest.raises(FarNodeError) as caught:
        prepare(versions, lock_with(current, "six", wheel), None, None, disk_free=lambda p: 100 * 1024**2)
    assert str(caught.value).startswith("not enough disk space to prepare the new node runtime: 0.1 GB free at ")
    assert "GB needed; the current runtime stays" in str(caught.value)
    assert not any(versions.folder.iterdir())


def test_a_runtime_that_fails_its_check_is_never_made_ready(current: NodeRuntime, tmp_path: Path) -> None:
    broken = variant_wheel(current, "Dijkstar", "2.6.0.post1", tmp_path / "wheels",
                           {"dijkstar/__init__.py": b"raise ImportError('this build of dijkstar is broken')\n"})
    versions = RuntimeVersions(current.location)
    with pytest.raises(FarNodeError, match=r"the new node runtime failed its checks and is not used: .*dijkstar"):
        prepare(versions, lock_with(current, "Dijkstar", broken), None, None)
    assert list(versions.folder.iterdir()) == []  # removed: nothing to switch to
    with pytest.raises(FarNodeError, match="has not passed its checks"):
        versions.switch("0" * 16)
    assert current.is_installed() and current.location.is_dir() and not current.location.is_symlink()
