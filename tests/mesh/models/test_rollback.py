"""Rollback (`start_from_position`) in the runtime's Python: the `position` setter on Petals' own client session
classes and the step that carries it, and serve_inference restarting the cache position where Petals 2.2's own loop
(run on the same steps) goes on counting."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import asyncio, json
from types import SimpleNamespace
import torch
import petals  # the farmesh.pth hook registers the families, rollback included
from hivemind import MSGPackSerializer
from hivemind.compression.serialization import deserialize_torch_tensor, serialize_torch_tensor
from hivemind.proto import runtime_pb2
from hivemind.utils.tensor_descr import BatchTensorDescriptor
from petals.client import inference_session
from petals.server import block_functions, handler
from petals.utils.convert_block import QuantType
from farnode_desktop.mesh.models import rollback

out = {}
step_before = inference_session._ServerInferenceSession._step
rollback.install()  # a second install wraps nothing twice
out["installed"] = [block_functions.iterate_rpc_inference is rollback.serve_inference,
                    handler.iterate_rpc_inference is rollback.serve_inference,
                    inference_session._ServerInferenceSession._step is step_before,
                    rollback.petals_loop is not None and rollback.petals_loop is not rollback.serve_inference]

# ----- client: the position setter on a session of two servers' spans, Petals' own classes built bare
def server_session(position, history):
    server = inference_session._ServerInferenceSession.__new__(inference_session._ServerInferenceSession)
    server._position, server.history, server.stepped = position, history, True
    server._outputs_stream = None  # no connection: nothing to close
    return server

session = inference_session.InferenceSession.__new__(inference_session.InferenceSession)
session._position, session._closed = 5, True  # never connected: nothing to close
session._server_sessions = [server_session(5, torch.arange(10.0).view(1, 5, 2)), server_session(2, None)]
session.output_ids = torch.arange(10).view(2, 5)
session.position = 3
first, second = session._server_sessions
out["rolled"] = {"position": session.position, "servers": [first._position, second._position],
                 "history": first.history.tolist(), "second_history": second.history,
                 "start_from": [first.farmesh_start_from, second.farmesh_start_from],
                 "output_ids": session.output_ids.tolist()}
refused = []
for bad in (4, -1, "2", 2.0, True):
    try:
        session.position = bad
    except ValueError as exc:
        refused.append(str(exc))
out["refused"] = refused
out["after_refusals"] = session.position

# ----- client: the step that follows tells the server; Petals' own _step puts the request on the stream's queue
async def one_step(server, metadata):
    server._inputs_queue = asyncio.Queue()
    async def answers():
        yield "answer"
    server._outputs_stream = answers()
    server.config = SimpleNamespace(request_timeout=5)
    request = runtime_pb2.ExpertRequest(uid="m.0", metadata=MSGPackSerializer.dumps(metadata))
    answer = await server._step(request)
    sent = await server._inputs_queue.get()
    server._outputs_stream = None  # the stand-in stream is done (closing a real one would reach for the network)
    return [answer, MSGPackSerializer.loads(sent.metadata), getattr(server, "farmesh_start_from", None)]

pushed = {"step_id": "s1", "next_servers": [["peer", "session", 2, 4]]}
out["steps"] = [asyncio.run(one_step(first, dict(pushed))),  # the rollback goes with this step, not pushed on
                asyncio.run(one_step(first, dict(pushed)))]  # then steps as before
fresh = server_session(0, None)
fresh.stepped, fresh.farmesh_start_from = False, 2  # a new server gets the kept inputs in full instead
out["fresh_step"] = asyncio.run(one_step(fresh, dict(pushed)))

# ----- server: the inference loop, over a stand-in for the block's task pool (it records the prefix it is given)
def serve(loop, steps):
    prefixes = []
    class Pool:
        async def submit_task(self, hidden, hypo_ids, infos, *prompts, priority):
            prefixes.append([info.prefix_length for info in infos])
            return (hidden + 1,)
    backend = SimpleNamespace(dtype=torch.float32, inference_pool=Pool(),
                              outputs_schema=(BatchTensorDescriptor(2, dtype=torch.float32),))
    prioritizer = SimpleNamespace(prioritize=lambda *args, **kwargs: 0.0)
    async def requests():
        for n_tokens, metadata in steps:
            tensors = (torch.ones(1, n_tokens, 2) * n_tokens, torch.empty(0), torch.zeros(1, dtype=torch.int64))
            yield runtime_pb2.ExpertRequest(uid="m.0", tensors=[serialize_torch_tensor(t) for t in tensors]), metadata
    async def run():
        results = []
        try:
            async for tensors, can_push in loop(["m.0"], [backend], None, requests(), [[]], max_length=16,
                                                prioritizer=prioritizer, points=0, quant_type=QuantType.NONE):
                results.append([deserialize_torch_tensor(tensors[0]).tolist(), can_push])
        except ValueError as exc:
            results.append(str(exc))
        return results
    results = asyncio.run(run())
    return {"prefixes": prefixes, "results": results}

steps = [(3, {}), (2, {}), (1, {"start_from_position": 2}), (1, {}), (2, {"start_from_position": 0})]
out["farmesh"] = serve(rollback.serve_inference, steps)
out["petals"] = serve(rollback.petals_loop, steps)
out["beyond"] = serve(rollback.serve_inference, [(3, {}), (1, {"start_from_position": 4})])
print(json.dumps(out))
"""


def test_a_rolled_back_session_tells_its_servers_and_the_server_loop_restarts_there() -> None:
    out = run_in_runtime(SCRIPT)
    assert out["installed"] == [True, True, True, True]  # in the handler's loop; the client step wrapped once
    rolled = out["rolled"]
    assert rolled["position"] == 3 and rolled["servers"] == [3, 2]  # a server behind the cut keeps its position
    assert rolled["history"] == [[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]]  # kept inputs cut to 3 tokens
    assert rolled["second_history"] is None
    assert rolled["start_from"] == [3, 3]
    assert rolled["output_ids"] == [[0, 1, 2], [5, 6, 7]]
    assert len(out["refused"]) == 5 and out["after_refusals"] == 3  # past its length, negative, not a whole number
    assert out["refused"][0] == "a session of 3 tokens cannot roll back to 4"
    # the next step carries start_from_position (and is not pushed on server-to-server); the one after is as before
    pushed = {"step_id": "s1", "next_servers": [["peer", "session", 2, 4]]}
    assert out["steps"] == [["answer", {"step_id": "s1", "start_from_position": 3}, None], ["answer", pushed, None]]
    assert out["fresh_step"] == ["answer", pushed, None]  # a server not yet stepped gets the kept inputs instead
    # steps of 3, 2, 1 (back to 2), 1, 2 (back to 0) tokens: the cache position each block is given
    assert out["farmesh"]["prefixes"] == [[0], [3], [2], [3], [0]]
    assert out["petals"]["prefixes"] == [[0], [3], [5], [6], [7]]  # Petals 2.2's loop ignores the rollback
    assert out["farmesh"]["results"] == out["petals"]["results"]  # otherwise the same answers
    assert [r[0] for r in out["farmesh"]["results"]] == [[[[4.0] * 2] * 3], [[[3.0] * 2] * 2], [[[2.0] * 2]],
                                                          [[[2.0] * 2]], [[[3.0] * 2] * 2]]
    assert out["beyond"]["prefixes"] == [[0]]  # a rollback past the session's length reaches no block
    assert out["beyond"]["results"][1] == ("start_from_position must be a whole number from 0 to the session's "
                                           "length 3, got 4")
