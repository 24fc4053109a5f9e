"""The installed unified runtime (CUDA 13 torch): `import petals` anywhere, bitsandbytes' CUDA 13 library, the
GPU facts of the lock's metadata read back from the build itself. No GPU needed: all of it is in the files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from farnode_desktop.core.node.runtime import PETALS_HOOK, NodeRuntime
from farnode_desktop.core.node.runtime_lock import read_metadata, unified_lock_name

pytestmark = pytest.mark.runtime


@pytest.fixture(scope="module")
def unified(runtime: NodeRuntime) -> NodeRuntime:
    if runtime.lock.name != unified_lock_name():
        pytest.skip(f"the test runtime was installed from {runtime.lock.name}; these tests check the unified lock "
                    f"(FARNODE_RUNTIME_LOCK={unified_lock_name()} with its own FARNODE_RUNTIME_DIR)")
    return runtime


def bare(runtime: NodeRuntime, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The runtime's Python as Petals' own tools run it: no PYTHONPATH, no FarNode environment, another folder."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([str(runtime.python), "-c", code], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300, check=False)


def test_import_petals_works_in_any_process_with_no_bridge_call(unified: NodeRuntime, tmp_path: Path) -> None:
    code = """
import sys, json
assert 'hivemind' not in sys.modules and 'torch' not in sys.modules  # the hook itself loads nothing heavy
import petals
from petals import AutoDistributedModelForCausalLM
from petals.server.server import Server
from petals.utils.auto_config import _CLASS_MAPPING
from farnode_desktop.mesh import bridge
from farnode_desktop.mesh.client import FarMeshClient, FarMeshServer
print(json.dumps({"bridged": bridge.is_installed(), "families": sorted(_CLASS_MAPPING),
                  "server": FarMeshServer is Server, "client": FarMeshClient.__name__}))
"""
    out = bare(unified, code, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    body = json.loads(out.stdout.splitlines()[-1])
    assert body["bridged"] and body["server"] and body["client"] == "FarMeshClient"
    assert {"llama", "falcon", "bloom"} <= set(body["families"])


def test_without_the_hook_petals_does_not_import(unified: NodeRuntime, tmp_path: Path) -> None:
    # The test above would pass vacuously if hivemind still had its old names: `-S` skips site's .pth files.
    out = subprocess.run([str(unified.python), "-S", "-c",
                          f"import sys; sys.path.append({str(unified.site_packages)!r}); import petals"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode != 0 and "cannot import name" in out.stderr
    assert (unified.site_packages / PETALS_HOOK).read_text() == unified.petals_hook_text()


def test_bitsandbytes_finds_its_library_for_the_locked_cuda_version(unified: NodeRuntime, tmp_path: Path) -> None:
    code = """
import json, ctypes, torch
from pathlib import Path
from bitsandbytes import cextension, cuda_specs
specs = cuda_specs.CUDASpecs(highest_compute_capability=(7, 5),
                             cuda_version_string=cuda_specs.get_cuda_version_string(),
                             cuda_version_tuple=cuda_specs.get_cuda_version_tuple())
path = cextension.get_cuda_bnb_library_path(specs)
lib = ctypes.CDLL(str(path))  # its CUDA 13 dependencies resolve from the lock's nvidia-* wheels; no GPU needed
print(json.dumps({"cuda": torch.version.cuda, "library": path.name, "exists": path.is_file(),
                  "has_nf4": hasattr(lib, "cdequantize_blockwise_bf16_nf4"), "arch_list": torch.cuda.get_arch_list()}))
"""
    out = bare(unified, code, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    body = json.loads(out.stdout.splitlines()[-1])
    meta = read_metadata(unified.lock)
    assert body["cuda"] == meta["cuda"] == "13.0"
    assert body["library"] == meta["bitsandbytes_cuda_library"] == "libbitsandbytes_cuda130.so" and body["exists"]
    assert body["has_nf4"]
    assert body["arch_list"] == meta["arch_list"]  # the metadata is what the installed build really covers


def test_the_cuda_build_runs_on_this_cpu(unified: NodeRuntime, tmp_path: Path) -> None:
    out = bare(unified, "import torch; x = torch.ones(64, 64); print(float((x @ x).sum()), torch.cuda.is_available())",
               tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["262144.0", "False"]
