"""Rollback of inference sessions (`start_from_position`), the protocol of current Petals clients, for Petals 2.2.

A current client puts `start_from_position` into a step's metadata to cut the session back to that many tokens
(rollback, speculative decoding). Petals 2.2's server loop (`petals.server.block_functions.iterate_rpc_inference`)
ignores it and answers with the wrong cache. `serve_inference` below is that loop honouring it; `install()` puts it
where the handler looks it up. On the client side it gives Petals 2.2's `InferenceSession` a `position` setter that
sends the field, so FarMesh's own clients (and tests) can roll a session back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import torch
from hivemind import MSGPackSerializer
from hivemind.compression.serialization import deserialize_torch_tensor, serialize_torch_tensor
from hivemind.proto import runtime_pb2
from hivemind.utils.nested import nested_flatten
from petals.data_structures import InferenceMetadata
from petals.server import block_functions
from petals.utils.convert_block import QuantType
from petals.utils.misc import is_dummy
from petals.utils.packaging import unpack_args_kwargs

from farnode_desktop.mesh.models.protocol import START_FROM_POSITION, rollback_position


async def serve_inference(
    requested_uids: Sequence[str],
    requested_backends: Sequence[Any],
    active_adapter: str | None,
    input_iterator: AsyncIterator[tuple[runtime_pb2.ExpertRequest, dict[str, Any]]],
    cache_handles: Sequence[Sequence[Any]],
    *,
    max_length: int,
    prioritizer: Any,
    points: int,
    quant_type: QuantType,
    args_structure: Any = None,
) -> AsyncIterator[tuple[Sequence[runtime_pb2.Tensor], bool]]:
    """Petals 2.2's inference loop over one session's steps, with `start_from_position` honoured."""
    assert len(cache_handles) == len(requested_backends)
    prefix_length = 0
    point_per_piece = points / max_length if max_length > 0 else 0.0

    async for request, step_metadata in input_iterator:
        prefix_length = rollback_position(step_metadata, prefix_length)
        flat_tensors = tuple(deserialize_torch_tensor(tensor) for tensor in request.tensors)
        if args_structure is not None:
            flat_tensors, _kwargs = unpack_args_kwargs(flat_tensors, args_structure)
        hidden_states, prompts, hypo_ids, *_ = flat_tensors
        batch_size, length_increment, _ = hidden_states.shape
        hidden_states = hidden_states.to(requested_backends[0].dtype)
        if hypo_ids.dtype != torch.int64:
            raise ValueError(f"hypo ids must be int64, got {hypo_ids.dtype}")

        has_prompts = prompts is not None and not is_dummy(prompts)
        if not has_prompts:
            prompts = [None] * len(requested_backends)
        else:
            prompts = [p.squeeze(0) for p in prompts.to(requested_backends[0].dtype).split(1, dim=0)]
            prompts = [prompt if not is_dummy(prompt) else None for prompt in prompts]
        if len(requested_backends) != len(prompts):
            raise ValueError(f"Received {len(prompts)} prompts for {len(requested_backends)} backends")
        if prefix_length + length_increment > max_length:
            raise ValueError(f"Maximum length exceeded: prefix {prefix_length} + current {length_increment}"
                             f" exceeds pre-allocated maximum {max_length}")

        merge_max_tokens = (block_functions.MAX_NF4_SHORT_INFERENCE_TOKENS if quant_type == QuantType.NF4
                            else block_functions.MAX_SHORT_INFERENCE_TOKENS)
        can_merge_pools = batch_size * length_increment <= merge_max_tokens
        priority = prioritizer.prioritize(hidden_states, hypo_ids, points=point_per_piece,
                                          requested_uids=requested_uids, type="inference")
        if hidden_states.numel() > 0:  # 0 tokens: a client checks that the cache can be allocated
            if hidden_states.ndim != 3:
                raise ValueError("hidden states must be a single 3d tensor")
            if can_merge_pools:
                infos = tuple(InferenceMetadata(uid, prefix_length, tuple(handles), active_adapter)
                              for uid, handles in zip(requested_uids, cache_handles, strict=True))
                (hidden_states,) = await requested_backends[0].inference_pool.submit_task(
                    hidden_states, hypo_ids, infos, *prompts, priority=priority)
            else:
                for backend, uid, handles, prompt in zip(requested_backends, requested_uids, cache_handles, prompts,
                                                         strict=True):
                    infos = (InferenceMetadata(uid, prefix_length, tuple(handles), active_adapter),)
                    (hidden_states,) = await backend.inference_pool.submit_task(
                        hidden_states, hypo_ids, infos, prompt, priority=priority)

        output_tensors = [
            serialize_torch_tensor(result.to(proto.dtype), proto.compression, allow_inplace=True)
            for result, proto in zip((hidden_states,), nested_flatten(requested_backends[-1].outputs_schema), strict=False)
        ]
        yield output_tensors, not has_prompts
        prefix_length += length_increment


petals_loop: Any = None  # Petals 2.2's own loop, kept to show what it does (tests)


# ----- client side -----

def _get_position(session: Any) -> int:
    return int(session._position)


def _set_position(session: Any, start_from_position: int) -> None:
    """Roll the session back to its first `start_from_position` tokens; the next step tells the servers."""
    if (not isinstance(start_from_position, int) or isinstance(start_from_position, bool)
            or not 0 <= start_from_position <= session._position):
        raise ValueError(f"a session of {session._position} tokens cannot roll back to {start_from_position!r}")
    session._position = start_from_position
    for server_session in session._server_sessions:
        server_session._position = min(server_session._position, start_from_position)
        if server_session.history is not None:  # kept to rebuild a failed server's cache: cut it back too
            server_session.history = server_session.history[:, :start_from_position]
        server_session.farmesh_start_from = start_from_position
    if getattr(session, "output_ids", None) is not None:
        session.output_ids = session.output_ids[:, :start_from_position]


def _install_client() -> None:
    from petals.client import inference_session

    server_cls = inference_session._ServerInferenceSession
    if getattr(server_cls, "_farmesh_rollback", False):
        return
    original_step = server_cls._step

    async def _step(self: Any, inputs_serialized: runtime_pb2.ExpertRequest) -> Any:
        start_from = getattr(self, "farmesh_start_from", None)
        self.farmesh_start_from = None
        if start_from is not None and self.stepped:  # a fresh server session gets the kept inputs in full instead
            metadata = MSGPackSerializer.loads(inputs_serialized.metadata) if inputs_serialized.metadata else {}
            metadata[START_FROM_POSITION] = start_from
            metadata.pop("next_servers", None)  # no server-to-server push of this step: each server hears the rollback
            inputs_serialized.metadata = MSGPackSerializer.dumps(metadata)
        return await original_step(self, inputs_serialized)

    server_cls._step = _step
    server_cls._farmesh_rollback = True
    inference_session.InferenceSession.position = property(_get_position, _set_position)


def install() -> None:
    """Honour `start_from_position` in this process's Petals server loop and let its clients send it."""
    from petals.server import handler

    global petals_loop
    if block_functions.iterate_rpc_inference is not serve_inference:
        petals_loop = block_functions.iterate_rpc_inference
    block_functions.iterate_rpc_inference = serve_inference
    handler.iterate_rpc_inference = serve_inference  # the handler imported the name itself
    _install_client()
