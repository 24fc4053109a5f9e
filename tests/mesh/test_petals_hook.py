"""The runtime's farmesh.pth hook in a fresh runtime process: cheap at start, and `import petals` just works (the
bridge run, FarMesh's families registered)."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import sys
at_start = {"modules": sorted(m for m in ("typing", "torch", "hivemind", "petals", "farnode_desktop.mesh.bridge")
                              if m in sys.modules),
            "finders": [type(f).__name__ for f in sys.meta_path][:1],
            "hook": "farnode_desktop.mesh.petals_hook" in sys.modules}
import json
import petals
from farnode_desktop.mesh import bridge, models, petals_hook
from petals.utils import auto_config
petals_hook.install()  # petals is loaded now: nothing to do
print(json.dumps({
    "at_start": at_start,
    "bridged": bridge.is_installed(),
    "families": sorted(t for t, m in auto_config._CLASS_MAPPING.items()
                       if m.config.__module__.startswith("farnode_desktop.mesh.models.")),
    "named": petals.DistributedLlamaForCausalLM.__module__,
    "finders_left": [type(f).__name__ for f in sys.meta_path if isinstance(f, petals_hook.PetalsFirst)],
    "loader": type(petals.__spec__.loader).__name__,
}))
"""


def test_a_fresh_runtime_process_imports_petals_through_the_hook() -> None:
    out = run_in_runtime(SCRIPT)
    # at interpreter start only the finder is in place: no typing, torch, hivemind or petals yet
    assert out["at_start"] == {"modules": [], "finders": ["PetalsFirst"], "hook": True}
    assert out["bridged"] is True
    assert out["families"] == ["bloom", "falcon", "llama", "mixtral", "qwen3", "qwen3_moe"]
    assert out["named"] == "farnode_desktop.mesh.models.llama"  # `petals.DistributedLlamaForCausalLM` is FarMesh's
    assert out["finders_left"] == []  # it acts once, then steps aside (and install() after petals adds none)
    assert out["loader"] == "_Loader"


HIVEMIND_FIRST = r"""
import json, sys
from hivemind import nested_compare  # a name hivemind 1.1.12 no longer re-exports: the bridge restores it
from hivemind.utils import MPFuture
import hivemind
first = {"nested_compare": nested_compare.__module__, "MPFuture": MPFuture.__module__,
         "anext": hasattr(hivemind, "anext"), "petals_loaded": "petals" in sys.modules}
import petals
from farnode_desktop.mesh import bridge, models, petals_hook
from petals.utils import auto_config
print(json.dumps({
    "first": first,
    "bridged": bridge.is_installed(),
    "families": sorted(t for t, m in auto_config._CLASS_MAPPING.items()
                       if m.config.__module__.startswith("farnode_desktop.mesh.models.")),
    "named": petals.DistributedLlamaForCausalLM.__module__,
    "finders_left": [type(f).__name__ for f in sys.meta_path
                     if isinstance(f, (petals_hook.PetalsFirst, bridge._AfterPetalsImport))],
}))
"""


def test_a_script_that_imports_hivemind_before_petals_gets_the_bridge_and_then_farmeshs_families() -> None:
    out = run_in_runtime(HIVEMIND_FIRST)
    # hivemind's old top-level names are there right after `import hivemind`, before anything imports petals
    assert out["first"] == {"nested_compare": "hivemind.utils.nested", "MPFuture": "hivemind.utils.mpfuture",
                            "anext": True, "petals_loaded": False}
    assert out["bridged"] is True
    # registered when petals loaded later
    assert out["families"] == ["bloom", "falcon", "llama", "mixtral", "qwen3", "qwen3_moe"]
    assert out["named"] == "farnode_desktop.mesh.models.llama"
    assert out["finders_left"] == []
