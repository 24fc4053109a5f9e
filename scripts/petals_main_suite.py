"""Runs Petals main's own test suite (22afba6), unchanged, against a swarm of supervised FarNode nodes.

    python scripts/petals_main_suite.py [--petals-dir tests/fixtures/petals-main-22afba6] [--out FILE.json] [-k EXPR]

As Petals' CI does (.github/workflows/run-tests.yaml): a tiny 8-block Llama (made here, no download) with a slow
byte-level tokenizer is served by two FarNode nodes on the CPU in a private swarm on loopback (blocks 0:5 with
Petals' tests/server2.id identity, which test_server_stats expects, and blocks 4:8), then Petals' tests run in the
node runtime's Python with MODEL_NAME/REF_NAME set to the model, INITIAL_PEERS to the swarm, ADAPTER_NAME empty.
Tests that need the Hugging Face hub are skipped with that reason (scripts/petals_suite/farmesh_hub_skips.py). The
counts (passed / skipped with reasons / failed) are printed as JSON and written to --out. pytest and the plugins at
Petals' own pins (scripts/petals_suite/tools.txt) are installed once for the runtime's Python, beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.events import EventBus  # noqa: E402
from farnode_desktop.core.node.factory import make_supervisor  # noqa: E402
from farnode_desktop.core.node.host import minimal_env  # noqa: E402
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root  # noqa: E402
from farnode_desktop.core.node.spec import IDENTITY_FILE, NodeSpec  # noqa: E402
from farnode_desktop.core.node.status import NodeState  # noqa: E402
from farnode_desktop.core.node.supervisor import NodeSupervisor, SupervisorPolicy  # noqa: E402
from farnode_desktop.core.paths import AppPaths  # noqa: E402

HUB_NAME = "farlabs/tiny-llama-petals-suite"  # "llama" in the name: Petals' speculative test runs for Llama only
REVISION = "0123456789abcdef0123456789abcdef01234567"
PETALS_DIR = REPO / "tests" / "fixtures" / "petals-main-22afba6"  # a copy of ../shared/ (MIT), kept in the repo
TOOLS_DIR = REPO / ".farnode-test" / "petals-suite-tools"
TOOLS_LOCK = REPO / "scripts" / "petals_suite" / "tools.txt"
NO_TOOLS = "could not install pytest 6.2.5 and the plugins Petals' tests use from PyPI (is it reachable?)"
TOOLS_EXIT = 3  # the exit code for that: nothing of Petals' suite ran
PLUGIN = REPO / "scripts" / "petals_suite" / "farmesh_hub_skips.py"
# A node whose start fails (on a loaded machine its networking daemon can exit while starting) is started again.
POLICY = SupervisorPolicy(stop_grace_s=15, backoff_base_s=1, backoff_cap_s=5, crash_limit=5,
                          watchdog_interval_s=1, watchdog_timeout_s=30, startup_timeout_s=240)
# Petals' CI's step 3, as it runs them: (name, script, arguments after --model/--initial_peers/--torch_dtype)
BENCHMARKS = (
    ("inference", "benchmark_inference.py", ["--seq_len", "3"]),
    ("forward", "benchmark_forward.py", ["--seq_len", "3", "--batch_size", "3", "--n_steps", "1"]),
    ("training_cls", "benchmark_training.py", ["--seq_len", "3", "--batch_size", "3", "--pre_seq_len", "1",
                                               "--n_steps", "1", "--task", "cls"]),
    ("training_causal_lm", "benchmark_training.py", ["--seq_len", "3", "--batch_size", "3", "--pre_seq_len", "1",
                                                     "--n_steps", "1", "--task", "causal_lm"]),
)
# Two nodes as Petals' CI's servers 2 and 1: (name, blocks, identity file from Petals' tests or None)
NODES = (("server2", "0:5", "server2.id"), ("server1", "4:8", None))
# An 8-block Llama as Petals' CI's Maykeye/TinyLLama-v0 (its tests use blocks up to 5), wider weights than the 0.02
# init so greedy tokens are well apart, and a slow byte-level tokenizer (the tests load it with use_fast=False).
MAKE_MODEL = r"""
import json, sys, tempfile
from pathlib import Path
import torch
from transformers import GPT2Tokenizer, LlamaConfig, LlamaForCausalLM
try:
    from transformers.convert_slow_tokenizer import bytes_to_unicode  # where transformers 5 keeps it
except ImportError:
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode  # transformers 4.x

folder, name = Path(sys.argv[1]), sys.argv[2]
if not (folder / "config.json").exists():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=8,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         initializer_range=0.2, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    LlamaForCausalLM(config).save_pretrained(str(folder), safe_serialization=True)
    chars = bytes_to_unicode()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps({chars[b]: b for b in range(256)}))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n")
        GPT2Tokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"), unk_token=chars[0],
                      bos_token=chars[1], eos_token=chars[2]).save_pretrained(str(folder))
import petals
print(petals.AutoDistributedConfig.from_pretrained(name).dht_prefix)  # from the hub cache (HF_HUB_CACHE)
"""


def ensure_tools(runtime: NodeRuntime, tools: Path) -> Path:
    """pytest and the plugins Petals' tests use, importable by the runtime's Python (nothing added to the runtime),
    installed once from the hash-checked list beside this script (a new list: installed afresh)."""
    stamp = tools / "installed-from.txt"
    wanted = TOOLS_LOCK.read_text()
    if not stamp.exists() or stamp.read_text() != wanted:
        shutil.rmtree(tools, ignore_errors=True)
        tools.mkdir(parents=True)
        pip = subprocess.run([str(runtime.python), "-m", "pip", "install", "--quiet", "--no-deps",
                              "--require-hashes", "--target", str(tools), "-r", str(TOOLS_LOCK)],
                             capture_output=True, text=True, timeout=300, check=False)
        if pip.returncode != 0:
            print(f"{NO_TOOLS}: pip said:\n{pip.stderr[-2000:]}", file=sys.stderr)
            sys.exit(TOOLS_EXIT)
        stamp.write_text(wanted)
    return tools


def make_model(runtime: NodeRuntime, cache: Path) -> tuple[Path, str]:
    """The tiny model as `HUB_NAME` in a Hugging Face hub cache, as a download would leave it (Petals' clients derive
    the DHT prefix from a hub name, not from a folder). Returns its snapshot folder and that prefix."""
    repo = cache / ("models--" + HUB_NAME.replace("/", "--"))
    snapshot = repo / "snapshots" / REVISION
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(REVISION)
    made = subprocess.run([str(runtime.python), "-c", MAKE_MODEL, str(snapshot), HUB_NAME], capture_output=True,
                          text=True, env=minimal_env({"PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1",
                                                      "HF_HUB_CACHE": str(cache)}),
                          timeout=300, check=False)
    if made.returncode != 0:
        raise SystemExit(f"could not make the tiny model:\n{made.stderr[-3000:]}")
    return snapshot, made.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def swarm(runtime: NodeRuntime, model: Path, prefix: str, petals_tests: Path, home: Path) -> Iterator[list[str]]:
    """The supervised nodes serving the model; yields the swarm's initial peers."""
    paths = AppPaths.under(home)
    started: list[NodeSupervisor] = []
    peers: list[str] = []
    try:
        for name, blocks, identity in NODES:
            spec = NodeSpec(name=name, model=str(model), dht_prefix=prefix, new_swarm=not peers,
                            initial_peers=list(peers), listen_host="127.0.0.1", port=0, device="cpu",
                            block_indices=blocks, torch_dtype="float32", throughput="1.0", num_handlers=2)
            if identity:
                node_dir = paths.node_dir(name)
                node_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(petals_tests / identity, node_dir / IDENTITY_FILE)
            sup = make_supervisor(spec, paths, EventBus(), runtime, policy=POLICY)
            started.append(sup)
            sup.start()
            state = sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 240)
            if state is not NodeState.SERVING:
                status = sup.status()
                lines = [line for line in status.log_lines if "Warning" not in line and "_load_from_state" not in line]
                raise SystemExit(f"node {name} did not come up: {status.reason}\n" + "\n".join(lines[-30:]))
            if not peers:
                peers = list(sup.status().multiaddrs)
        yield peers
    finally:
        for sup in reversed(started):
            sup.stop()
            with contextlib.suppress(Exception):
                sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)


def counts(junit: Path) -> dict[str, Any]:
    """passed / skipped (with reasons) / failed / errors, read from pytest's JUnit XML."""
    result: dict[str, Any] = {"passed": 0, "skipped": 0, "failed": 0, "errors": 0, "skip_reasons": {},
                              "failures": []}
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 (our own pytest wrote it, in our temp dir)
        test = f"{case.get('classname')}::{case.get('name')}"
        skipped, failure, error = case.find("skipped"), case.find("failure"), case.find("error")
        if skipped is not None:
            result["skipped"] += 1
            reason = (skipped.get("message") or "").removeprefix("Skipped: ")
            result["skip_reasons"].setdefault(reason, []).append(test)
        elif failure is not None or error is not None:
            result["failed" if failure is not None else "errors"] += 1
            result["failures"].append(test)
        else:
            result["passed"] += 1
    return result


def run_benchmarks(runtime: NodeRuntime, petals_dir: Path, work: Path, env: dict[str, str],
                   peers: list[str]) -> dict[str, Any]:
    """Step 3 of Petals' CI: its benchmarks run once each against the swarm (figures meaningless on a tiny CPU swarm);
    returns each one's exit code and, when it failed, its last lines."""
    results: dict[str, Any] = {}
    for name, script, args in BENCHMARKS:
        argv = [str(runtime.python), str(petals_dir / "benchmarks" / script), "--model", HUB_NAME,
                "--initial_peers", *peers, "--torch_dtype", "float32", *args]
        try:
            run = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False)
            code, tail = run.returncode, (run.stdout + run.stderr)[-1500:]
        except subprocess.TimeoutExpired:
            code, tail = None, "timed out after 120 s (a benchmark whose worker died waits for ever)"
        results[name] = {"exit_code": code, **({} if code == 0 else {"tail": tail})}
        print(f"benchmark {name}: exit code {code}", flush=True)
    return results


def run_suite(petals_dir: Path, work: Path, select: str | None, timeout: float,
              with_benchmarks: bool = True) -> dict[str, Any]:
    runtime = NodeRuntime(Path(os.environ.get("FARNODE_RUNTIME_DIR") or REPO / ".farnode-test" / "runtime"))
    if not runtime.is_installed():
        raise SystemExit("the node runtime is not installed: run `make runtime` first")
    tools = ensure_tools(runtime, TOOLS_DIR)
    tests = work / "tests"
    shutil.copytree(petals_dir / "tests", tests)  # unchanged; copied since pytest writes its cache beside them
    shutil.copyfile(PLUGIN, tools / PLUGIN.name)
    cache = work / "hub"  # Petals' blocks and transformers' models read the same cache, as in Petals' CI
    model, prefix = make_model(runtime, cache)
    junit = work / "junit.xml"
    with swarm(runtime, model, prefix, tests, work / "home") as peers:
        env = minimal_env({
            "MODEL_NAME": HUB_NAME, "REF_NAME": HUB_NAME, "ADAPTER_NAME": "", "HF_HUB_CACHE": str(cache),
            "PETALS_CACHE": str(cache), "INITIAL_PEERS": " ".join(peers),
            "PETALS_MAX_RETRIES": "10", "HF_HUB_OFFLINE": "1", "no_proxy": "*",
            "PYTHONPATH": f"{tools}:{mesh_source_root()}"})
        argv = [str(runtime.python), "-m", "pytest", "tests", "-p", PLUGIN.stem, "--durations=0",
                "--durations-min=1.0", "-v", "-p", "no:cacheprovider", f"--junitxml={junit}",
                # anyio (which huggingface-hub 2 brings through httpx) registers a pytest plugin that needs a newer
                # pytest than Petals' pinned 6.2.5; Petals' tests do not use it
                "-p", "no:anyio"]
        if select:
            argv += ["-k", select]
        proc = subprocess.run(argv, cwd=work, env=env, timeout=timeout, check=False)
        benchmarks = run_benchmarks(runtime, petals_dir, work, env, peers) if with_benchmarks else {}
    if not junit.exists():
        raise SystemExit(f"pytest did not run Petals' tests (exit code {proc.returncode}): see its output above")
    result = counts(junit)
    result["pytest_exit_code"] = proc.returncode
    result["benchmarks"] = benchmarks
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--petals-dir", type=Path, default=PETALS_DIR, help="Petals main's checkout (tests/ inside)")
    parser.add_argument("--out", type=Path, help="write the counts here as JSON")
    parser.add_argument("-k", dest="select", help="only the tests pytest's -k expression selects")
    parser.add_argument("--timeout", type=float, default=1500, help="seconds for the test run")
    parser.add_argument("--no-benchmarks", action="store_true", help="skip step 3 of Petals' CI (its benchmarks)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="petals-main-suite-") as tmp:
        result = run_suite(args.petals_dir, Path(tmp), args.select, args.timeout, not args.no_benchmarks)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    benchmarks_ok = all(b["exit_code"] == 0 for b in result["benchmarks"].values())
    sys.exit(0 if result["failed"] == result["errors"] == 0 and benchmarks_ok else 1)


if __name__ == "__main__":
    main()
