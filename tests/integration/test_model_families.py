"""FarMesh's model families served for real: tiny random models shaped like each catalog model, served by a real
Petals server through the supervised node, a client's greedy output compared with the same model run locally with
transformers; rollback of a session (`start_from_position`); each family's server block against transformers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.factory import make_supervisor
from farnode_desktop.core.node.host import minimal_env
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.node.supervisor import SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.mesh.models import MIN_TRANSFORMERS
from tests.runtime_env import run_generate

pytestmark = [pytest.mark.runtime, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
POLICY = SupervisorPolicy(stop_grace_s=15, backoff_base_s=0.5, backoff_cap_s=2, crash_limit=2,
                          watchdog_interval_s=1, watchdog_timeout_s=15, startup_timeout_s=180)
SERVED = {  # one catalog model per family, the one with the most distinctive config
    "llama": "meta-llama/Meta-Llama-3.1-405B-Instruct",
    "mixtral": "mistralai/Mixtral-8x22B-Instruct-v0.1",
    "falcon": "tiiuae/falcon-40b",
    "bloom": "bigscience/bloom-560m",
    "qwen3": "Qwen/Qwen3-32B",
    "qwen3_moe": "Qwen/Qwen3-30B-A3B",
}
ALSO_CHECKED = ("meta-llama/Meta-Llama-3.1-70B-Instruct", "meta-llama/Llama-2-70b-chat-hf")


def runtime_script(runtime: NodeRuntime, argv: list[str], timeout: float = 240) -> dict[str, Any]:
    """Run a script under the runtime's Python; return its `FARMESH-RESULT` JSON. Nothing it started (a client's
    p2pd included) outlives the call."""
    env = minimal_env({"PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1",
                       "PETALS_IGNORE_DEPENDENCY_VERSION": "1"})
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen([str(runtime.python), *argv], stdout=out, stderr=err, text=True, env=env,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.seek(0)
        err.seek(0)
        for line in out.read().splitlines():
            if line.startswith("FARMESH-RESULT "):
                return json.loads(line.removeprefix("FARMESH-RESULT "))  # type: ignore[no-any-return]
        tail = err.read()[-3000:]
    raise AssertionError(f"{argv[0]} failed (rc {proc.returncode}):\n{tail}")


@pytest.fixture(scope="module")
def families_runtime(runtime: NodeRuntime) -> NodeRuntime:
    out = runtime_script(runtime, ["-c", "import json; from farnode_desktop.mesh import models; "
                                         "print('FARMESH-RESULT ' + json.dumps(models.transformers_version()))"])
    if tuple(out) < MIN_TRANSFORMERS:
        pytest.skip(f"the test runtime has transformers {out[0]}.{out[1]}: FarMesh's families need "
                    f"{MIN_TRANSFORMERS[0]}.{MIN_TRANSFORMERS[1]} (the issue-21 runtime lock); Petals 2.2's own "
                    "families serve meanwhile")
    return runtime


@pytest.fixture(scope="module")
def shaped_models(families_runtime: NodeRuntime, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shaped-models")
    names = [*SERVED.values(), *ALSO_CHECKED]
    folders = {name: root / name.rsplit("/", 1)[1] for name in names}
    code = ("import json, sys; from pathlib import Path; from farnode_desktop.mesh.tinymodel import make_shaped; "
            "pairs = json.loads(sys.argv[1]); [make_shaped(n, Path(f)) for n, f in pairs]; "
            "print('FARMESH-RESULT []')")
    runtime_script(families_runtime, ["-c", code, json.dumps([[n, str(f)] for n, f in folders.items()])])
    return folders


def test_each_family_block_equals_transformers_over_a_long_cached_sequence(
        families_runtime: NodeRuntime, shaped_models: dict[str, Path]) -> None:
    """The server block, fed at once and in pieces through Petals' cache layout (310 tokens, so Llama 3.1's
    llama3 RoPE scaling and Falcon's grouped kv heads take part), equals transformers' own model."""
    result = runtime_script(families_runtime, [str(HERE / "family_blocks.py"), *map(str, shaped_models.values())])
    assert set(result) == {str(f) for f in shaped_models.values()}
    for folder, diffs in result.items():
        assert diffs["full"] < 1e-4 and diffs["pieces"] < 1e-4, (folder, diffs)  # float32 rounding (eager vs sdpa)
        assert diffs["block_class"].startswith("FarMesh"), (folder, diffs)


@pytest.fixture(scope="module", params=sorted(SERVED))
def served(request: pytest.FixtureRequest, families_runtime: NodeRuntime, shaped_models: dict[str, Path],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, NodeStatus]]:
    """One supervised node per family (4 blocks, CPU, private swarm on loopback), reused by that family's tests."""
    family: str = request.param
    folder = shaped_models[SERVED[family]]
    paths = AppPaths.under(tmp_path_factory.mktemp(f"home-{family}"))
    spec = NodeSpec(name=f"cpu-{family}", model=str(folder), dht_prefix=f"tiny-{family}", new_swarm=True,
                    listen_host="127.0.0.1", port=0, device="cpu", num_blocks=4, torch_dtype="float32",
                    throughput="1.0", num_handlers=2)
    sup = make_supervisor(spec, paths, EventBus(), families_runtime, policy=POLICY)
    sup.start()
    try:
        state = sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180)
        status = sup.status()
        assert state is NodeState.SERVING, status
        assert (status.start_block, status.end_block) == (0, 4), status
        yield family, folder, status
    finally:
        sup.stop()
        with contextlib.suppress(Exception):
            sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)


def test_served_greedy_output_equals_local_transformers(served: tuple[str, Path, NodeStatus],
                                                        families_runtime: NodeRuntime) -> None:
    family, folder, status = served
    # (token 3 is BLOOM's pad token: left out of the prompt, so that local transformers guesses no padding)
    result = run_generate(families_runtime, str(folder), status.multiaddrs, status.dht_prefix, new_tokens=12,
                          batch=2, prompt="5,6,7,8,9", compare_local=True)
    assert result["tokens"] == result["local_tokens"], family
    assert len(result["tokens"][0]) == 5 + 12
    assert result["route"] == [{"peer_id": status.peer_id, "start_block": 0, "end_block": 4}]


def test_rolled_back_session_continues_like_local_transformers(served: tuple[str, Path, NodeStatus],
                                                               families_runtime: NodeRuntime) -> None:
    """Generate 8 tokens, roll the session back to 8 tokens (start_from_position) and go on with new tokens, then
    roll back into that output and continue: every piece equals transformers run on the same tokens locally.
    A server that ignored start_from_position would keep the stale tokens in its cache and their positions."""
    family, folder, status = served
    result = runtime_script(families_runtime, [str(HERE / "family_client.py"), str(folder), str(status.dht_prefix),
                                               *status.multiaddrs])
    assert result["served"]["first"] == result["local"]["first"], family
    assert result["served"]["after_new"] == result["local"]["after_new"], family
    assert result["kept"] == result["local_kept"], family
    assert result["served"]["continued"] == result["local"]["continued"], family
    assert result["positions"] == [12, 15, 15]


def test_importing_petals_after_the_bridge_registers_the_families(families_runtime: NodeRuntime) -> None:
    """`import petals` after the bridge gives FarMesh's classes in Petals' registry and under Petals' names."""
    code = ("import json; from farnode_desktop.mesh import bridge; bridge.install(); import petals; "
            "from petals.utils.auto_config import _CLASS_MAPPING as m; import petals.server.handler as h; "
            "print('FARMESH-RESULT ' + json.dumps({k: v.model_for_causal_lm.__module__ for k, v in m.items()} | "
            "{'petals.DistributedLlamaForCausalLM': petals.DistributedLlamaForCausalLM.__module__, "
            "'iterate_rpc_inference': h.iterate_rpc_inference.__module__}))")
    result = runtime_script(families_runtime, ["-c", code])
    assert result == {
        "llama": "farnode_desktop.mesh.models.llama", "mixtral": "farnode_desktop.mesh.models.mixtral",
        "falcon": "farnode_desktop.mesh.models.falcon", "bloom": "farnode_desktop.mesh.models.bloom",
        "qwen3": "farnode_desktop.mesh.models.qwen3", "qwen3_moe": "farnode_desktop.mesh.models.qwen3_moe",
        "petals.DistributedLlamaForCausalLM": "farnode_desktop.mesh.models.llama",
        "iterate_rpc_inference": "farnode_desktop.mesh.models.rollback",
    }
