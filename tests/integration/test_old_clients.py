"""Old clients keep working: a Petals 2.2 client and a Petals main (22afba6) client, each in its own environment
(scripts/old_clients.py), generate through supervised FarNode nodes on FarNode's runtime, Petals' wire unchanged;
each one's greedy tokens equal the same model run locally with that client's own transformers.

Pairs: Petals 2.2 with Llama and Falcon (Petals 2.2 has no Mixtral: neither `petals/models/mixtral` nor a
transformers with `mixtral`, which arrived in 4.36; its pins stop at 4.35), Petals main with Llama, Mixtral and
Falcon. One node per family, all started at once. Each tiny model is written by the oldest transformers that reads
it (4.34.1 for Llama and Falcon, 4.43.1 for Mixtral), so its config.json is one an old client can load.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.factory import make_supervisor
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.node.supervisor import NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.mesh.tinymodel import SHAPES

pytestmark = [pytest.mark.runtime, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CLIENT = HERE / "old_client_generate.py"
POLICY = SupervisorPolicy(stop_grace_s=15, backoff_base_s=0.5, backoff_cap_s=2, crash_limit=3,
                          watchdog_interval_s=1, watchdog_timeout_s=20, startup_timeout_s=180)
# family -> (the catalog model whose published config it is shaped like, the client environment that writes it)
MODELS = {
    "llama": ("meta-llama/Llama-2-70b-chat-hf", "petals-2.2"),  # GQA; Llama 3.1's llama3 RoPE needs 4.43
    "falcon": ("tiiuae/falcon-40b", "petals-2.2"),  # new_decoder_architecture, grouped kv heads
    "bloom": ("bigscience/bloom-560m", "petals-2.2"),  # the hub's key layout (h.N.*)
    "mixtral": ("mistralai/Mixtral-8x22B-Instruct-v0.1", "petals-main"),
}
# Not Petals main with Falcon: its client fails before it sends anything (Petals main's own
# `prepare_inputs_for_generation` hands transformers 4.43.1's Falcon a cache it indexes: IndexError), on any server.
PAIRS = [("petals-2.2", "llama"), ("petals-2.2", "falcon"), ("petals-2.2", "bloom"),
         ("petals-main", "llama"), ("petals-main", "mixtral"), ("petals-main", "bloom")]
NEW_TOKENS = 10


def in_client(python: Path, argv: list[str], timeout: float = 240) -> dict[str, Any]:
    """Run old_client_generate.py under an old client's Python with nothing of FarNode on its path or in its
    environment; return its result. Nothing it started (its p2pd included) outlives the call."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen([str(python), str(CLIENT), *argv], stdout=out, stderr=err, text=True, env=env,
                                cwd=tempfile.gettempdir(), start_new_session=True)
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
            if line.startswith("OLD-CLIENT-RESULT "):
                return json.loads(line.removeprefix("OLD-CLIENT-RESULT "))  # type: ignore[no-any-return]
        tail = err.read()[-12000:]
    raise AssertionError(f"{python} {argv[:2]} failed (rc {proc.returncode}):\n{tail}")


@pytest.fixture(scope="module")
def clients() -> dict[str, Path]:
    """Both old-client environments (built once, reused while their locks are unchanged)."""
    setup = subprocess.run([sys.executable, str(REPO / "scripts" / "old_clients.py"), "setup"], capture_output=True,
                           text=True, timeout=1800, check=False)
    assert setup.returncode == 0, f"scripts/old_clients.py setup failed:\n{setup.stderr[-3000:]}"
    return {name: Path(python) for name, python in json.loads(setup.stdout).items()}


@pytest.fixture(scope="module")
def nodes(runtime: NodeRuntime, clients: dict[str, Path],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, NodeStatus]]]:
    """One supervised node per family (4 blocks, CPU, its own private swarm on loopback), started together."""
    root = tmp_path_factory.mktemp("old-client-models")
    folders: dict[str, Path] = {}
    for family, (like, maker) in MODELS.items():
        shape = {k: v for k, v in SHAPES[like].items() if k != "model_type"}
        folders[family] = root / family
        in_client(clients[maker], ["make", family, str(folders[family]), json.dumps(shape)])
    sups: dict[str, NodeSupervisor] = {}
    try:
        for family, folder in folders.items():
            spec = NodeSpec(name=f"old-{family}", model=str(folder), dht_prefix=f"old-{family}", new_swarm=True,
                            listen_host="127.0.0.1", port=0, device="cpu", num_blocks=4, torch_dtype="float32",
                            throughput="1.0", num_handlers=2)
            paths = AppPaths.under(tmp_path_factory.mktemp(f"home-old-{family}"))
            sups[family] = make_supervisor(spec, paths, EventBus(), runtime, policy=POLICY)
            sups[family].start()
        served: dict[str, tuple[Path, NodeStatus]] = {}
        for family, sup in sups.items():
            state = sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 240)
            status = sup.status()
            assert state is NodeState.SERVING, status
            served[family] = (folders[family], status)
        yield served
    finally:
        for sup in sups.values():
            sup.stop()
        for sup in sups.values():
            with contextlib.suppress(Exception):
                sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)


@pytest.mark.parametrize(("client", "family"), PAIRS, ids=[f"{c}-{f}" for c, f in PAIRS])
def test_old_client_generates_through_a_farnode_node_like_local(
        client: str, family: str, clients: dict[str, Path], nodes: dict[str, tuple[Path, NodeStatus]]) -> None:
    folder, status = nodes[family]
    result = in_client(clients[client], ["generate", str(folder), str(status.dht_prefix), str(NEW_TOKENS),
                                         *status.multiaddrs])
    expected = {"petals-2.2": ("2.2.0.post1", "1.1.10.post2", "4.34.1"), "petals-main": ("2.3.0.dev2", "1.1.12", "4.43.1")}
    versions = result["versions"]
    assert (versions["petals"], versions["hivemind"], versions["transformers"]) == expected[client]
    assert result["client_class"].startswith("petals.models."), result["client_class"]  # that Petals' own client
    assert result["route"] == [{"peer_id": status.peer_id, "start": 0, "end": 4}]  # through the FarNode node
    assert result["tokens"] == result["local_tokens"], (client, family)
    assert len(result["tokens"][0]) == 5 + NEW_TOKENS


@pytest.mark.parametrize("client", sorted({c for c, _ in PAIRS}))
def test_each_old_client_environment_satisfies_its_own_petals_pins(client: str, clients: dict[str, Path]) -> None:
    """`pip check` in each environment is clean: Petals 2.2 runs with every pin of its own metadata (hivemind
    1.1.10.post2, pydantic < 2, transformers < 4.35), Petals main with its pins (hivemind by name)."""
    check = subprocess.run([str(clients[client]), "-m", "pip", "check"], capture_output=True, text=True, timeout=120,
                           check=False)
    assert check.returncode == 0 and "No broken requirements found" in check.stdout, check.stdout + check.stderr
