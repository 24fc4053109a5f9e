"""farmesh.pth follows the app: a launch (NodeRuntime.ready, the supervisor's readiness check) rewrites one that an
older FarNode wrote, which put the app's whole source root on the runtime's path."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.factory import make_supervisor
from farnode_desktop.core.node.runtime import MARKER, PETALS_HOOK, NodeRuntime, mesh_source_root
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.paths import AppPaths

ROOT = Path(__file__).resolve().parents[3]
OLD_HOOK = f'{ROOT}\nimport sys; exec("try:\\n import farnode_desktop.mesh.petals_hook\\nexcept ImportError:\\n pass")\n'


def _installed(tmp_path: Path, marked: bool = True) -> NodeRuntime:
    runtime = NodeRuntime(tmp_path / "runtime", base_python=sys.executable)
    runtime.python.parent.mkdir(parents=True)
    runtime.python.write_text("")
    runtime.site_packages.mkdir(parents=True)
    (runtime.site_packages / PETALS_HOOK).write_text(OLD_HOOK)
    if marked:
        (runtime.location / MARKER).write_text(json.dumps({"lock_sha256": runtime.lock_digest()}))
    return runtime


def test_the_hook_names_the_node_code_alone() -> None:
    text = NodeRuntime(Path("/nonexistent")).petals_hook_text()
    assert text.splitlines()[0] == str(mesh_source_root()) == str(ROOT / "build" / "mesh_src")
    assert "import farnode_desktop.mesh.petals_hook" in text.splitlines()[1]


def test_a_launch_rewrites_an_older_hook(tmp_path: Path) -> None:
    runtime = _installed(tmp_path)
    assert runtime.is_installed() and (runtime.site_packages / PETALS_HOOK).read_text() == OLD_HOOK  # a query
    assert runtime.ready() is True
    assert (runtime.site_packages / PETALS_HOOK).read_text() == runtime.petals_hook_text()


def test_a_runtime_not_installed_is_not_ready_and_keeps_its_files(tmp_path: Path) -> None:
    runtime = _installed(tmp_path, marked=False)  # stopped half-way: no marker
    assert runtime.ready() is False
    assert (runtime.site_packages / PETALS_HOOK).read_text() == OLD_HOOK


def test_the_supervisor_asks_ready_before_each_launch(tmp_path: Path) -> None:
    runtime = _installed(tmp_path)
    spec = NodeSpec(name="cpu", model=str(tmp_path / "model"), new_swarm=True, device="cpu")
    sup = make_supervisor(spec, AppPaths.under(tmp_path / "home"), EventBus(), runtime)
    assert sup.runtime_ready() is True
    assert (runtime.site_packages / PETALS_HOOK).read_text() == runtime.petals_hook_text()
