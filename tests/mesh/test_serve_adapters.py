"""`--adapters` is refused in plain words before Petals starts (mesh/serve.py): Petals 2.2's LoRA code builds peft
0.5's layers, which peft 0.22 (the runtime's) builds another way, so a server with adapters would fail while loading
its blocks. Run in the runtime's Python, the way the supervisor starts a node."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from farnode_desktop.core.node.runtime import mesh_source_root
from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import json, sys
from farnode_desktop.mesh import serve
out = {}
for args in (["m", "--adapters", "someone/lora"], ["m", "--adapt=someone/lora"], ["m", "--ad", "x"]):
    try:
        serve.refuse_adapters(args)
        out[" ".join(args)] = None
    except SystemExit as exc:
        out[" ".join(args)] = str(exc)
serve.refuse_adapters(["m", "--attn_cache_tokens", "100", "--num_blocks", "2"])  # other arguments pass
try:
    serve.main(["--endpoint-file", ENDPOINT, "--", "m", "--adapters", "someone/lora"])
except SystemExit as exc:
    out["main"] = str(exc)
out["petals_imported"] = "petals" in sys.modules

# why: Petals' own LoRA wrapping on the runtime's peft
from farnode_desktop.mesh import bridge
bridge.install()
import petals
from petals.utils.convert_block import QuantType
from petals.utils.peft import create_lora_adapter
from farnode_desktop.mesh.models.llama import DistributedLlamaConfig
config = DistributedLlamaConfig(vocab_size=256, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                num_key_value_heads=2, intermediate_size=128)
try:
    create_lora_adapter(config.block_class(config), QuantType.NONE)
    out["petals_lora"] = "built"
except Exception as exc:
    out["petals_lora"] = type(exc).__name__
print(json.dumps(out))
"""


def test_adapters_are_refused_before_petals_starts(tmp_path: Path) -> None:
    endpoint = tmp_path / "endpoint.json"
    out = run_in_runtime(f"ENDPOINT = {str(endpoint)!r}\n{SCRIPT}", timeout=240)
    for args in ("m --adapters someone/lora", "m --adapt=someone/lora", "m --ad x"):
        assert out[args] is not None and "does not serve LoRA adapters (--adapters)" in out[args], args
    assert "Start the node without --adapters" in out["main"]
    assert out["petals_imported"] is False  # refused before the bridge, Petals or the status endpoint start
    assert not endpoint.exists()
    # the reason holds: Petals 2.2's create_lora_adapter cannot build peft 0.22's layers (a port would turn this)
    assert out["petals_lora"] != "built"


def test_a_node_launched_with_adapters_exits_with_the_reason(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(mesh_source_root()),
           "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([str(runtime_python()), "-m", "farnode_desktop.mesh.serve", "--endpoint-file",
                          str(tmp_path / "endpoint.json"), "--", str(tmp_path / "model"), "--new_swarm",
                          "--adapters", "someone/lora"], capture_output=True, text=True, timeout=120, env=env,
                         check=False)
    assert run.returncode == 1
    assert "[farnode] FarNode does not serve LoRA adapters (--adapters) yet" in run.stderr
    assert "Traceback" not in run.stderr
