"""A model folder the node runtime's transformers refuses (here: a YaRN rope_scaling with attention_factor -1, which
the app's stdlib rules let pass and transformers 5 only warns about) is refused before any server process starts, by
`farnode node start` and by the app, with the runtime's own reason; the verdict is remembered, so a second start
does not pay for the check again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.factory import TINY_DEMO
from farnode_desktop.core.node.model_check import CACHE_FILE
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.mesh.models.families import folder_problems

pytestmark = [pytest.mark.runtime]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvml"
REFUSED = "`rope_parameters`'s attention_factor field must be a float greater than 0, got -1.0"


def broken_copy(tiny_model: Path, folder: Path) -> Path:
    shutil.copytree(tiny_model, folder)
    config = json.loads((folder / "config.json").read_text())
    config["rope_scaling"] = {"rope_type": "yarn", "factor": 2.0, "attention_factor": -1.0}
    (folder / "config.json").write_text(json.dumps(config))
    assert folder_problems(folder)[1] == []  # only the runtime's transformers can tell
    return folder


def test_the_cli_refuses_before_any_server_starts(farnode_home: Path, runtime: NodeRuntime, tiny_model: Path,
                                                  tmp_path: Path) -> None:
    folder = broken_copy(tiny_model, tmp_path / "tiny-yarn")

    def start() -> tuple[subprocess.CompletedProcess[str], float]:
        began = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "farnode_desktop", "node", "start", "--new-swarm", "--model",
                               str(folder), "--name", "bad"], capture_output=True, text=True, timeout=300,
                              check=False, env=dict(os.environ, FARNODE_HOME=str(farnode_home)))
        return done, time.monotonic() - began

    first, first_s = start()
    assert first.returncode == 2, first.stdout + first.stderr
    assert "FarNode cannot serve the model in" in first.stderr and REFUSED in first.stderr, first.stderr
    assert "what to do:" in first.stderr and "Traceback" not in first.stderr
    home = AppPaths.under(farnode_home)
    assert not list(farnode_home.rglob("service-*.log")) and not home.node_dir("bad").exists()  # nothing launched
    second, second_s = start()
    assert second.returncode == 2 and REFUSED in second.stderr
    remembered = json.loads((home.cache / CACHE_FILE).read_text())
    assert [key.split("|")[0] for key in remembered] == [str(folder.resolve())]
    print(f"\nruntime model check: first start {first_s:.2f} s, second (remembered) {second_s:.2f} s")


def test_the_app_refuses_the_demo_model_folder_before_any_node_is_made(
        farnode_home: Path, runtime: NodeRuntime, tiny_model: Path) -> None:
    paths = AppPaths.default().ensure()
    broken_copy(tiny_model, paths.models / "tiny-demo")
    SettingsStore(paths.config_file).save(Settings(model=TINY_DEMO, new_swarm=True))
    made: list[NodeSpec] = []

    def factory(spec: NodeSpec) -> object:
        made.append(spec)
        raise AssertionError("no node may be made for a model the runtime refuses")

    from farnode_desktop.core.app_core import AppCore

    core = AppCore(paths, nvml=FakeNvml.from_file(FIXTURES / "no_driver.json"), runtime=runtime,
                   supervisor_factory=factory, sample_gpus=False)  # type: ignore[arg-type]
    try:
        with pytest.raises(UserInputError, match="cannot serve the model") as err:
            core.start(serve=True)
        assert REFUSED in str(err.value)
        assert made == [] and core.fleet.nodes == {}
    finally:
        core.shutdown(timeout_s=5)
