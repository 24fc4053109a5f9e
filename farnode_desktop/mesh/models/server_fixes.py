"""Petals 2.2 server code that assumes head_dim = hidden_size / heads, fixed for configs with an explicit head_dim
(Qwen3: 64 heads x 128 at hidden 5120); a config without one keeps Petals' own arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def head_dim(config: Any) -> int:
    """The attention head size: the config's `head_dim` when it gives one, else hidden_size / heads (Petals)."""
    given = getattr(config, "head_dim", None)
    return int(given) if given else int(config.hidden_size // config.num_attention_heads)


def inference_cache_descriptors(self: Any, batch_size: int, max_length: int) -> Sequence[Any]:
    """`TransformerBackend.get_inference_cache_descriptors` with the config's head size (Petals' cache layout)."""
    from hivemind.utils.tensor_descr import TensorDescriptor

    size = head_dim(self.config)
    cache_tensors: list[Any] = []
    for device, shard_heads in zip(self.module.devices, self.shard_num_heads, strict=True):
        kv_heads = shard_heads // self.config.num_key_value_groups
        keys = TensorDescriptor((batch_size, kv_heads, size, max_length), dtype=self.dtype, device=device)
        values = TensorDescriptor((batch_size, kv_heads, max_length, size), dtype=self.dtype, device=device)
        cache_tensors.extend((keys, values))
    return cache_tensors


def install() -> None:
    """Put the fixed method on Petals' TransformerBackend (idempotent)."""
    from petals.server.backend import TransformerBackend

    TransformerBackend.get_inference_cache_descriptors = inference_cache_descriptors
