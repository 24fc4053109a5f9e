"""The runtime self-check (`python -m farnode_desktop.mesh.check`) in the runtime's Python: its JSON fields."""

from __future__ import annotations

import re

import pytest

from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.mesh.check import PACKAGES
from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_dir_for_tests, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = "import runpy; runpy.run_module('farnode_desktop.mesh.check', run_name='__main__')"


def test_the_self_check_reports_versions_imports_and_cuda_as_json() -> None:
    report = run_in_runtime(SCRIPT)
    assert set(report) == {"python", "executable", "versions", "imports", "bridge_names_restored",
                           "cuda_available", "torch_cuda_build"}
    assert re.fullmatch(r"3\.11\.\d+", report["python"])
    assert report["executable"].startswith(str(runtime_dir_for_tests()))
    pins = NodeRuntime(runtime_dir_for_tests()).locked_versions()
    locked = {name.lower().replace("_", "-"): version for name, version in pins.items()}
    assert list(report["versions"]) == list(PACKAGES)
    for name, version in report["versions"].items():
        assert version is not None and locked[name].startswith(version), name  # what the lock installed
    # the farmesh.pth hook bridged hivemind on a plain `import petals`, so install() had nothing left to restore
    assert report["imports"] == dict.fromkeys(
        ["petals without a bridge call", "bridge", "torch", "hivemind", "petals", "petals.server.server",
         "petals.cli.run_server", "farnode_desktop.mesh.client", "farnode_desktop.mesh.serve"], "ok")
    assert report["bridge_names_restored"] == 0
    assert isinstance(report["cuda_available"], bool)
    assert report["torch_cuda_build"] is None or re.fullmatch(r"\d+\.\d+", report["torch_cuda_build"])
