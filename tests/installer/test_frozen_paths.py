"""How a frozen app finds its bundled node sources, lock and the system Python 3.11 for the node runtime."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node import runtime


@pytest.fixture
def frozen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bundle = tmp_path / "_internal"
    (bundle / "resources" / "runtime").mkdir(parents=True)
    lock = runtime.lock_file()  # the source checkout's lock, copied as the spec ships it
    (bundle / "resources" / "runtime" / lock.name).write_bytes(lock.read_bytes())
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.delenv("FARNODE_RUNTIME_PYTHON", raising=False)
    return bundle


def _path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, programs: dict[str, str]) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in programs.items():
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))  # only these programs: the machine's own python3.11 is hidden


def test_frozen_app_points_the_runtime_at_its_bundled_sources_and_lock(frozen: Path) -> None:
    assert runtime.mesh_source_root() == frozen / "mesh_src"
    assert runtime.lock_file() == frozen / "resources" / "runtime" / runtime.lock_file().name
    assert runtime.lock_file().is_relative_to(frozen)


def test_from_source_the_runtime_uses_this_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_RUNTIME_PYTHON", raising=False)
    assert runtime.default_base_python() == sys.executable
    assert (runtime.mesh_source_root() / "farnode_desktop" / "mesh" / "serve.py").is_file()


def test_frozen_app_finds_the_system_python311(frozen: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _path_with(tmp_path, monkeypatch, {"python3.11": f'#!/bin/sh\nexec "{sys.executable}" "$@"\n'})
    assert runtime.default_base_python() == str(tmp_path / "bin" / "python3.11")
    monkeypatch.setenv("FARNODE_RUNTIME_PYTHON", "/opt/python3.11/bin/python3")
    assert runtime.default_base_python() == "/opt/python3.11/bin/python3"


def test_frozen_app_takes_python3_only_if_it_is_311(frozen: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _path_with(tmp_path, monkeypatch, {"python3": "#!/bin/sh\necho 3 12\n"})
    assert runtime.default_base_python() == "python3.11"  # not found: install explains
    node_runtime = runtime.NodeRuntime(tmp_path / "runtime")
    with pytest.raises(FarNodeError) as info:
        node_runtime.install()
    assert "python3.11" in str(info.value) and "Python 3.11" in info.value.hint
