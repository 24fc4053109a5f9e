"""The hivemind bridge in the runtime's Python: every name Petals imports from hivemind's top level is there after
install(), and FarMesh's families register once `petals` loads."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import ast, importlib.util, json, pathlib, sys
from farnode_desktop.mesh import petals_hook
petals_hook.uninstall()  # the bridge's own hook only: not the farmesh.pth one
import hivemind, hivemind.utils
root = pathlib.Path(importlib.util.find_spec("petals").origin).parent
wanted = set()
for path in root.rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module in ("hivemind", "hivemind.utils") and not node.level:
            wanted |= {(node.module, a.name) for a in node.names}
def missing():
    return sorted(f"{m}.{n}" for m, n in wanted if not hasattr(sys.modules[m], n))
before = missing()
from farnode_desktop.mesh import bridge
out = {"wanted": len(wanted), "before": before, "installed_before": bridge.is_installed()}
out["added"] = bridge.install()
out["after"] = missing()
out["again"] = bridge.install()
out["installed"] = bridge.is_installed()
out["petals_loaded_by_bridge"] = "petals" in sys.modules
import petals
from petals.utils import auto_config
out["families"] = {t: m.config.__module__ for t, m in auto_config._CLASS_MAPPING.items()}
out["hook_left"] = [type(f).__name__ for f in sys.meta_path if type(f).__name__ == "_AfterPetalsImport"]
print(json.dumps(out))
"""


def test_petals_names_from_hivemind_exist_after_the_bridge_and_families_register_on_import() -> None:
    out = run_in_runtime(SCRIPT)
    assert out["wanted"] > 20  # Petals' own `from hivemind import ...` lines, read from its source
    assert "hivemind.anext" in out["before"]  # hivemind 1.1.12 lacks what Petals 2.2 imports: the bridge's reason
    assert out["installed_before"] is False and out["added"] > 0
    assert out["after"] == []
    assert out["again"] == 0 and out["installed"] is True  # idempotent
    assert out["petals_loaded_by_bridge"] is False  # the bridge only waits for `import petals`
    assert out["families"] == {t: f"farnode_desktop.mesh.models.{t}"
                               for t in ("llama", "mixtral", "falcon", "bloom", "qwen3", "qwen3_moe")}
    assert out["hook_left"] == []  # the finder steps aside once petals is loaded
