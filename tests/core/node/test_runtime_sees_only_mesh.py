"""A checkout with the app's own metadata beside it (the `farnode_desktop.egg-info` that `pip install -e .` writes with
build isolation) does not leak into the node runtime: `farnode runtime check` passes and the runtime's Python imports
`farnode_desktop.mesh`, but not the rest of the app nor its distribution. Run on a copy of the tree, against a
throwaway runtime that shares the installed test runtime's packages (the shared runtime itself is left alone)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from farnode_desktop.core.node.runtime import PETALS_HOOK, NodeRuntime
from tests.runtime_env import RUNTIME_ABSENT, runtime_dir_for_tests

pytestmark = [pytest.mark.runtime, pytest.mark.slow,
              pytest.mark.skipif(not NodeRuntime(runtime_dir_for_tests()).is_installed(), reason=RUNTIME_ABSENT)]

ROOT = Path(__file__).resolve().parents[3]
OLD_HOOK = 'import sys; exec("try:\\n import farnode_desktop.mesh.petals_hook\\nexcept ImportError:\\n pass")\n'
PROBE = r"""
import importlib, importlib.metadata, json
seen = {}
mesh = importlib.import_module("farnode_desktop.mesh")
seen["mesh"] = mesh.__file__
for name in ("farnode_desktop.core", "farnode_desktop.cli"):
    try:
        importlib.import_module(name)
        seen[name] = "imported"
    except ModuleNotFoundError as exc:
        seen[name] = type(exc).__name__
try:
    seen["distribution"] = importlib.metadata.version("farnode-desktop")
except importlib.metadata.PackageNotFoundError as exc:
    seen["distribution"] = type(exc).__name__
import petals
from farnode_desktop.mesh import bridge
seen["bridged"] = bridge.is_installed()
print(json.dumps(seen))
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the app's tree with the egg-info setuptools writes for an editable install (setuptools' own
    egg_info, the step `pip install -e .` runs in its isolated build)."""
    copy = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "farnode_desktop", copy / "farnode_desktop", ignore=ignore)
    shutil.copytree(ROOT / "resources" / "runtime", copy / "resources" / "runtime", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, copy / name)
    made = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "egg_info"], cwd=copy,
                          capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr[-2000:]
    requires = (copy / "farnode_desktop.egg-info" / "requires.txt").read_text()
    assert "eth-account" in requires and "PySide6-Essentials" in requires  # what the runtime must not see
    return copy


@pytest.fixture
def runtime(tmp_path: Path) -> NodeRuntime:
    """A venv whose packages are the test runtime's (a path line, so that runtime's own farmesh.pth is not read),
    with the farmesh.pth an older FarNode wrote: the source root itself on the path."""
    shared = NodeRuntime(runtime_dir_for_tests())
    rt = NodeRuntime(tmp_path / "runtime")
    subprocess.run([str(shared.python), "-m", "venv", "--without-pip", str(rt.location)], check=True, timeout=120)
    (rt.site_packages / "runtime-packages.pth").write_text(f"{shared.site_packages}\n")
    return rt


def _env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **extra}


def test_runtime_check_passes_next_to_an_egg_info_and_the_runtime_sees_only_mesh(
        checkout: Path, runtime: NodeRuntime, tmp_path: Path) -> None:
    (runtime.site_packages / PETALS_HOOK).write_text(f"{checkout}\n{OLD_HOOK}")  # what an older app installed
    before = subprocess.run([str(runtime.python), "-m", "pip", "check"], capture_output=True, text=True,
                            cwd=tmp_path, env=_env(), timeout=120, check=False)
    assert "farnode-desktop 0.1.0 requires eth-account, which is not installed" in before.stdout  # the fault

    # `farnode runtime check` as the copy's own app runs it, from the checkout's folder
    check = subprocess.run([sys.executable, "-m", "farnode_desktop", "runtime", "check", "--json"], cwd=checkout,
                           capture_output=True, text=True, timeout=600, check=False,
                           env=_env(PYTHONPATH=str(checkout), FARNODE_HOME=str(tmp_path / "home"),
                                    FARNODE_RUNTIME_DIR=str(runtime.location)))
    report = json.loads(check.stdout)
    assert check.returncode == 0 and report["ok"], report["problems"]
    assert report["pip_problems"] == [] and not any("farnode" in line for line in report["known_pin_conflicts"])
    view = checkout / "build" / "mesh_src"
    assert (runtime.site_packages / PETALS_HOOK).read_text().splitlines()[0] == str(view)  # rewritten by check

    # the runtime's Python as Petals' tools run it: no PYTHONPATH, another folder, only farmesh.pth
    probe = subprocess.run([str(runtime.python), "-c", PROBE], capture_output=True, text=True, cwd=tmp_path,
                           env=_env(HF_HUB_OFFLINE="1"), timeout=300, check=False)
    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen["mesh"] == str(view / "farnode_desktop" / "mesh" / "__init__.py")
    assert seen["farnode_desktop.core"] == seen["farnode_desktop.cli"] == "ModuleNotFoundError"
    assert seen["distribution"] == "PackageNotFoundError"  # no egg-info, no dist-info of the app
    assert seen["bridged"] is True  # the hook still runs the bridge on `import petals`
    after = subprocess.run([str(runtime.python), "-m", "pip", "check"], capture_output=True, text=True,
                           cwd=checkout, env=_env(), timeout=120, check=False)
    assert "farnode" not in after.stdout  # even from the checkout's own folder
