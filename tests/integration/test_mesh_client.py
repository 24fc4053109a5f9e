"""FarMeshClient's fix for Petals 2.2's session-close deadlock (and the import hook's), in the runtime's interpreter."""

from __future__ import annotations

import subprocess

import pytest

from farnode_desktop.core.node.host import minimal_env
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root

pytestmark = pytest.mark.runtime

# A session closed on the client's own event-loop thread (as the garbage collector does from a future's
# callback): Petals blocks that thread on itself. With the FarMesh fix the close is scheduled and returns.
SCRIPT = r"""
import asyncio, sys
FIXED = sys.argv[1] == "fixed"
if FIXED:
    from farnode_desktop.mesh import client  # installs the fix
else:
    from farnode_desktop.mesh import bridge
    bridge.install()
from hivemind.moe.client.remote_expert_worker import RemoteExpertWorker
from petals.client.inference_session import _ServerInferenceSession

ended = []

async def make_session():
    queue = asyncio.Queue()

    async def outputs():
        await queue.get()  # the empty request that ends the session
        ended.append(True)
        return
        yield

    session = _ServerInferenceSession.__new__(_ServerInferenceSession)
    session._inputs_queue, session._outputs_stream, session.stepped, session.closed = queue, outputs(), True, False
    return session

session = RemoteExpertWorker.run_coroutine(make_session())

async def close_on_loop_thread():
    session.close()  # what __del__ does when the GC runs it on this thread
    await asyncio.sleep(0.2)

RemoteExpertWorker.run_coroutine(close_on_loop_thread())
print("closed", session.closed, "server told:", bool(ended), flush=True)
"""


def run(runtime: NodeRuntime, mode: str, timeout: float) -> subprocess.CompletedProcess[str] | None:
    env = minimal_env({"PYTHONPATH": str(mesh_source_root()), "PETALS_IGNORE_DEPENDENCY_VERSION": "1"})
    try:
        return subprocess.run([str(runtime.python), "-c", SCRIPT, mode], capture_output=True, text=True, env=env,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None


def test_closing_a_session_on_the_event_loop_thread_does_not_deadlock(runtime: NodeRuntime) -> None:
    fixed = run(runtime, "fixed", timeout=120)
    assert fixed is not None and fixed.returncode == 0, fixed.stderr if fixed else "timed out"
    assert "closed True server told: True" in fixed.stdout
    # Without FarMeshClient the import hook's own fix (mesh/session_close.py, installed on `import petals`) holds
    # too; Petals' unfixed close hanging on that thread is shown in tests/mesh/test_session_close.py.
    hooked = run(runtime, "unfixed", timeout=120)
    assert hooked is not None and hooked.returncode == 0, hooked.stderr if hooked else "timed out"
    assert "closed True server told: True" in hooked.stdout
