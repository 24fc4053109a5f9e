"""The names Petals 2.2 imports that transformers 5 / peft 0.22 dropped: restored by the bridge, so every Petals
module imports in the runtime; `get_file_from_repo` answers as transformers 4.x's did (a path, or None)."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import importlib, json, pkgutil, tempfile
from pathlib import Path
from farnode_desktop.mesh import bridge, compat5
bridge.install()
import petals
import transformers.utils
failed = {}
for info in pkgutil.walk_packages(petals.__path__, "petals."):
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed[info.name] = f"{type(exc).__name__}: {exc}"
with tempfile.TemporaryDirectory() as tmp:
    (Path(tmp) / "config.json").write_text("{}")
    found = transformers.utils.get_file_from_repo(tmp, "config.json")
    missing = transformers.utils.get_file_from_repo(tmp, "model.safetensors.index.json", local_files_only=True)
import peft.utils
print(json.dumps({"failed": failed, "found": found == str(Path(tmp) / "config.json"), "missing": missing,
                  "pattern": peft.utils.COMMON_LAYERS_PATTERN, "again": compat5.install()}))
"""


def test_every_petals_module_imports_and_the_restored_names_behave_as_before() -> None:
    out = run_in_runtime(SCRIPT, timeout=300)
    assert out["failed"] == {}
    assert out["found"] is True and out["missing"] is None
    assert out["pattern"] == ["layers", "h", "block", "blocks", "layer"]
    assert out["again"] == []  # idempotent: nothing left to restore
