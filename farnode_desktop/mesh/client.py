"""Far Labs' names for the Petals API: `FarMeshClient` (a distributed causal LM) and the server side."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from farnode_desktop.mesh import bridge

bridge.install()

from petals import AutoDistributedModelForCausalLM  # noqa: E402
from petals.server.server import Server as FarMeshServer  # noqa: E402

__all__ = ["FarMeshClient", "FarMeshServer"]


def _fix_session_close_deadlock() -> None:
    """Petals 2.2 closes an inference session in `__del__` by blocking on the client's event-loop thread.

    When the garbage collector runs that `__del__` on the event-loop thread itself (inside a future's
    callback), the thread waits on itself forever and every later request hangs. Seen here: a gateway
    stuck in `_ServerInferenceSession.close` <- `__del__` <- `_chain_future` on `_run_event_loop`. On that
    thread the close is scheduled on the running loop instead of waited for.
    """
    import asyncio
    import contextlib
    import threading

    from hivemind.moe.client.remote_expert_worker import RemoteExpertWorker
    from hivemind.proto import runtime_pb2
    from petals.client import inference_session

    session_cls = inference_session._ServerInferenceSession
    if getattr(session_cls, "_farnode_close_fixed", False):
        return
    blocking_close = session_cls.close

    async def finish(stream: Any, queue: Any, stepped: bool) -> None:
        if stepped:
            await queue.put(runtime_pb2.ExpertRequest())  # an empty request ends the session on the server
            with contextlib.suppress(StopAsyncIteration):
                await anext(stream)

    def close(self: Any) -> None:
        if self._outputs_stream is None:
            return
        if threading.current_thread() is RemoteExpertWorker._event_thread:
            stream, queue, stepped = self._outputs_stream, self._inputs_queue, self.stepped
            self._outputs_stream = self._inputs_queue = None
            self.closed = True
            asyncio.get_running_loop().create_task(finish(stream, queue, stepped))
            return
        blocking_close(self)

    session_cls.close = close
    session_cls._farnode_close_fixed = True


_fix_session_close_deadlock()


class FarMeshClient:
    """A model whose transformer blocks run on FarMesh servers; the embeddings and head run locally."""

    def __init__(self, model: Any) -> None:
        self.model = model

    @classmethod
    def connect(cls, model_name_or_path: str, initial_peers: Sequence[str], dht_prefix: str | None = None,
                **kwargs: Any) -> FarMeshClient:
        if dht_prefix is not None:
            kwargs["dht_prefix"] = dht_prefix
        model = AutoDistributedModelForCausalLM.from_pretrained(
            model_name_or_path, initial_peers=list(initial_peers), **kwargs
        )
        return cls(model)

    def generate(self, input_ids: Any, **kwargs: Any) -> Any:
        return self.model.generate(input_ids, **kwargs)

    def route(self) -> list[dict[str, Any]]:
        """Which server (peer id) serves which blocks on the route the client uses now."""
        manager = self.model.transformer.h.sequence_manager
        manager.update(wait=True)
        spans = manager.make_sequence(mode="min_latency")
        return [{"peer_id": span.peer_id.to_base58(), "start_block": span.start, "end_block": span.end}
                for span in spans]

    def close(self) -> None:
        """End the client's background work, its DHT child process (and its p2pd) included."""
        manager = self.model.transformer.h.sequence_manager
        for step in (manager.shutdown, manager.dht.shutdown):
            with contextlib.suppress(Exception):  # best effort: the process is ending anyway
                step()
