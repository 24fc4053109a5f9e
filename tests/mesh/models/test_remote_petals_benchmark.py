"""Petals' own `benchmarks/benchmark_inference.py`, byte for byte as Petals ships it
(tests/fixtures/petals-main-22afba6/benchmarks/), run in the node runtime's Python against a supervised FarNode
node: its worker calls `generate()` with no input ids on a fresh session, which FarMesh's generate() starts from the
BOS token as Petals' does. Run as a Petals user runs it: a hub model name (here from a local hub cache, offline), no
PYTHONPATH (farmesh.pth alone), with a time limit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.factory import make_supervisor
from farnode_desktop.core.node.host import minimal_env
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.node.supervisor import SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from tests.runtime_env import RUNTIME_ABSENT, runtime_dir_for_tests

pytestmark = [pytest.mark.runtime, pytest.mark.slow,
              pytest.mark.skipif(not NodeRuntime(runtime_dir_for_tests()).is_installed(), reason=RUNTIME_ABSENT)]

BENCHMARK = (Path(__file__).resolve().parents[2] / "fixtures" / "petals-main-22afba6" / "benchmarks"
             / "benchmark_inference.py")
HUB_NAME = "farlabs/tiny-bench"
PREFIX = "tiny-bench-hf"  # Petals' Llama rule for that hub name: what the benchmark's client looks the blocks up by
REVISION = "0123456789abcdef0123456789abcdef01234567"
POLICY = SupervisorPolicy(stop_grace_s=15, backoff_base_s=0.5, backoff_cap_s=2, crash_limit=2,
                          watchdog_interval_s=1, watchdog_timeout_s=15, startup_timeout_s=180)
STEPS = 6
# The tiny Llama (vocab 256) with a byte-level tokenizer whose BOS is the model's (id 1): the benchmark loads one.
MAKE_MODEL = r"""
import json, sys, tempfile
from pathlib import Path
from farnode_desktop.mesh.tinymodel import make_tiny_llama
from transformers import GPT2Tokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode  # moved there in transformers 5

folder = make_tiny_llama(Path(sys.argv[1]))
chars = bytes_to_unicode()
with tempfile.TemporaryDirectory() as tmp:
    (Path(tmp) / "vocab.json").write_text(json.dumps({chars[b]: b for b in range(256)}))
    (Path(tmp) / "merges.txt").write_text("#version: 0.2\n")
    GPT2Tokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"), unk_token=chars[0],
                  bos_token=chars[1], eos_token=chars[2]).save_pretrained(str(folder))
"""


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hugging Face hub cache holding `farlabs/tiny-bench` at one revision, as a download would leave it."""
    cache = tmp_path_factory.mktemp("hub")
    repo = cache / ("models--" + HUB_NAME.replace("/", "--"))
    snapshot = repo / "snapshots" / REVISION
    runtime = NodeRuntime(runtime_dir_for_tests())
    made = subprocess.run([str(runtime.python), "-c", MAKE_MODEL, str(snapshot)], capture_output=True, text=True,
                          env=minimal_env({"PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1"}),
                          timeout=300, check=False)
    assert made.returncode == 0, made.stderr[-3000:]
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    return cache


@pytest.fixture(scope="module")
def node(hub_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeStatus]:
    """A supervised node serving the model's 4 blocks on the CPU, in a private swarm on loopback."""
    snapshot = hub_cache / ("models--" + HUB_NAME.replace("/", "--")) / "snapshots" / REVISION
    paths = AppPaths.under(tmp_path_factory.mktemp("home"))
    spec = NodeSpec(name="cpu-bench", model=str(snapshot), dht_prefix=PREFIX, new_swarm=True,
                    listen_host="127.0.0.1", port=0, device="cpu", num_blocks=4, torch_dtype="float32",
                    throughput="1.0", num_handlers=2)
    sup = make_supervisor(spec, paths, EventBus(), NodeRuntime(runtime_dir_for_tests()), policy=POLICY)
    sup.start()
    try:
        state = sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180)
        status = sup.status()
        assert state is NodeState.SERVING, status
        yield status
    finally:
        sup.stop()
        with contextlib.suppress(Exception):
            sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)


def test_petals_benchmark_inference_runs_unchanged_against_a_farnode_node(node: NodeStatus, hub_cache: Path,
                                                                          tmp_path: Path) -> None:
    runtime = NodeRuntime(runtime_dir_for_tests())
    argv = [str(runtime.python), str(BENCHMARK), "--model", HUB_NAME, "--initial_peers", *node.multiaddrs,
            "--seq_len", str(STEPS), "--torch_dtype", "float32"]
    env = minimal_env({"HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"})  # no PYTHONPATH: farmesh.pth alone
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
                                start_new_session=True)
        try:
            code: int | None = proc.wait(timeout=240)  # before the fix its worker died and it waited for ever
        except subprocess.TimeoutExpired:
            code = None
        finally:
            with contextlib.suppress(ProcessLookupError):  # nothing it started (its DHT's p2pd) outlives it
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.seek(0)
        log = out.read()
    assert code == 0, f"the benchmark {'timed out' if code is None else f'exited {code}'}:\n{log[-4000:]}"
    steps = [line for line in log.splitlines() if "process_idx=0 step=" in line]
    assert len(steps) == STEPS - 1, log[-4000:]  # every step after the warm-up one reports its speed
    assert "Final result: speed=" in log
