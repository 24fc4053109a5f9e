"""Test helpers for the real node runtime: where it lives for tests, and running code under its Python."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root

REPO = Path(__file__).resolve().parent.parent


def runtime_dir_for_tests() -> Path:
    """`make test` installs the runtime once here (FARNODE_RUNTIME_DIR); tests reuse it."""
    return Path(os.environ.get("FARNODE_RUNTIME_DIR") or REPO / ".farnode-test" / "runtime")


def ensure_runtime() -> NodeRuntime:
    runtime = NodeRuntime(runtime_dir_for_tests())
    if not runtime.is_installed():
        runtime.install()
    return runtime


def run_generate(runtime: NodeRuntime, model: str, peers: list[str], prefix: str | None, *, new_tokens: int = 20,
                 batch: int = 1, prompt: str = "1,2,3,4,5", compare_local: bool = False,
                 timeout: float = 180) -> dict[str, Any]:
    """A real FarMesh client in the runtime's Python: generate through the swarm, return its JSON result."""
    argv = [str(runtime.python), "-m", "farnode_desktop.mesh.generate", model, "--initial-peers", *peers,
            "--new-tokens", str(new_tokens), "--batch", str(batch), "--prompt", prompt]
    if prefix:
        argv += ["--dht-prefix", prefix]
    if compare_local:
        argv.append("--compare-local")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1", "PETALS_IGNORE_DEPENDENCY_VERSION": "1"}
    # Read until the result line: the client's p2pd child keeps the pipes open after the client exits.
    with tempfile.TemporaryFile(mode="w+") as errfile:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errfile, text=True, env=env,
                                start_new_session=True)
        found: list[dict[str, Any]] = []

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("FARMESH-RESULT "):
                    found.append(json.loads(line.removeprefix("FARMESH-RESULT ")))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        # nothing of the client (its own p2pd included) may outlive the call
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if found:
            return found[0]
        errfile.seek(0)
        err = errfile.read()
    raise AssertionError(f"the client failed (rc {proc.returncode}):\n{err[-3000:]}")


RUNTIME_ABSENT = "the node runtime (torch, Petals) is not installed here: run `make runtime` (CI installs it)"


def runtime_python() -> Path:
    """The runtime's interpreter for tests (it may not exist: tests skip with RUNTIME_ABSENT then)."""
    return NodeRuntime(runtime_dir_for_tests()).python


def run_in_runtime(script: str, *, timeout: float = 120) -> Any:
    """Run `script` in a fresh process of the runtime's Python; return the JSON its last stdout line holds."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([str(runtime_python()), "-c", script], capture_output=True, text=True, timeout=timeout,
                         env=env, check=False)
    if run.returncode != 0 or not run.stdout.strip():
        raise AssertionError(f"the runtime script failed (rc {run.returncode}):\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])
