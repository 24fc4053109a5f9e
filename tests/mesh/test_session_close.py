"""mesh/session_close.py in the runtime's Python, on Petals' own `_ServerInferenceSession` and hivemind's own
RemoteExpertWorker loop: close() called on that loop's thread (as the garbage collector does there) returns and the
closing runs on the loop afterwards, where Petals' own close() waits for ever; on any other thread it is Petals' own."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import asyncio, json, os, threading, time
from concurrent.futures import Future
from types import SimpleNamespace
import petals  # the hook installs session_close with Petals main's API
from hivemind.moe.client.remote_expert_worker import RemoteExpertWorker
from petals.client import inference_session
from farnode_desktop.mesh import session_close

cls = inference_session._ServerInferenceSession
out = {"installed": cls.close.__wrapped__ is not None and cls.close.__name__ == "close"}

def bare(events):
    session = cls.__new__(cls)
    session.closed, session.stepped = False, True
    session._inputs_queue = asyncio.Queue()
    async def outputs():
        events.append("end of session asked")
        yield "last answer"
    session._outputs_stream = outputs()
    return session

def in_thread(fn, wait=10.0):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", fn()), daemon=True)
    thread.start()
    thread.join(wait)
    return (not thread.is_alive()), box.get("value")

# On the worker's own loop thread (what the collector does there): returns at once, closes right after.
events = []
session = bare(events)
async def close_on_loop():
    session.close()
    return list(events)
done, seen_inside = in_thread(lambda: RemoteExpertWorker.run_coroutine(close_on_loop()))
time.sleep(0.5)
out["own_thread"] = {"returned": done, "events_inside": seen_inside, "events_after": list(events),
                     "closed": session.closed, "stream_dropped": session._outputs_stream is None}

# Any other thread: Petals' own close(), which waits for the closing.
events2 = []
other = bare(events2)
done, _ = in_thread(other.close)
out["other_thread"] = {"returned": done, "events": list(events2), "stream_dropped": other._outputs_stream is None}

# The loop still starting on this thread: nothing can run on it, the stream is dropped and Petals' close not called.
called = []
starting = bare([])
worker = SimpleNamespace(_pid=os.getpid(), _event_thread=threading.current_thread(), _event_loop_fut=Future())
session_close.close_without_waiting_on_own_loop(starting, worker, lambda s: called.append(s))
out["starting"] = {"called_petals_close": bool(called), "closed": starting.closed,
                   "stream_dropped": starting._outputs_stream is None}

# Petals' own close() on the loop's thread, for comparison: it never returns (the loop waits for itself).
stuck = bare([])
async def petals_close_on_loop():
    cls.close.__wrapped__(stuck)
done, _ = in_thread(lambda: RemoteExpertWorker.run_coroutine(petals_close_on_loop()), wait=3.0)
out["petals_own_returned"] = done
print(json.dumps(out), flush=True)
os._exit(0)  # the stuck loop thread would keep the interpreter from exiting
"""


def test_close_on_the_client_loop_thread_returns_where_petals_own_hangs() -> None:
    out = run_in_runtime(SCRIPT, timeout=120)
    assert out["installed"]
    own = out["own_thread"]
    assert own["returned"] and own["events_inside"] == [], own  # scheduled, not awaited inside the call
    assert own["events_after"] == ["end of session asked"] and own["closed"] and own["stream_dropped"], own
    assert out["other_thread"] == {"returned": True, "events": ["end of session asked"], "stream_dropped": True}
    assert out["starting"] == {"called_petals_close": False, "closed": True, "stream_dropped": True}
    assert out["petals_own_returned"] is False  # what FarMesh's close() avoids
