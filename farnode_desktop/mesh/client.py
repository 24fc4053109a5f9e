"""Far Labs' names for the Petals API: `FarMeshClient` (a distributed causal LM) and the server side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from farnode_desktop.mesh import bridge

bridge.install()

from petals import AutoDistributedModelForCausalLM  # noqa: E402
from petals.server.server import Server as FarMeshServer  # noqa: E402

__all__ = ["FarMeshClient", "FarMeshServer"]


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
        try:
            self.model.transformer.h.sequence_manager.shutdown()
        except Exception:  # best effort: the process is ending anyway
            return
