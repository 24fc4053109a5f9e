"""Petals 2.2 server code that assumes head_dim = hidden_size / heads, fixed for configs with an explicit head_dim
(Qwen3: 64 heads x 128 at hidden 5120); a config without one keeps Petals' own arithmetic."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any


def head_dim(config: Any) -> int:
    """The attention head size: the config's `head_dim` when it gives one, else hidden_size / heads (Petals)."""
    given = getattr(config, "head_dim", None)
    return int(given) if given else int(config.hidden_size // config.num_attention_heads)


def heads_width(config: Any) -> int:
    """heads x head size, which Petals' arithmetic takes to be hidden_size (5120 vs 8192 for Qwen3-32B)."""
    return int(config.num_attention_heads) * head_dim(config)


def _server_cache_bytes(server: Any) -> int:
    return int(server.__dict__["_farmesh_cache_bytes_per_block"])


def _set_server_cache_bytes(server: Any, petals_bytes: int) -> None:
    """Petals' `Server.__init__` sets `2 * hidden_size * tokens // kv_groups * dtype bytes` (server.py:206-209) and
    reads it at once to choose how many blocks fit: keep it with heads x head_dim in place of hidden_size."""
    config = server.block_config
    server.__dict__["_farmesh_cache_bytes_per_block"] = petals_bytes * heads_width(config) // config.hidden_size


def _announcer_init(original: Callable[..., None]) -> Callable[..., None]:
    """`ModuleAnnouncerThread.__init__` whose `bytes_per_token` (the cache tokens left it announces, server.py:698)
    counts heads x head_dim, not hidden_size."""

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, block_config: Any, **kwargs: Any) -> None:
        original(self, *args, block_config=block_config, **kwargs)
        from petals.constants import DTYPE_MAP
        from petals.utils.misc import get_size_in_bytes

        dtype_bytes = get_size_in_bytes(DTYPE_MAP[self.server_info.torch_dtype])
        self.bytes_per_token = heads_width(block_config) * dtype_bytes // block_config.num_key_value_groups

    __init__.farmesh_head_dim = True  # type: ignore[attr-defined]
    return __init__


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
    """Put the fixed cache arithmetic on Petals' TransformerBackend, Server and ModuleAnnouncerThread (idempotent)."""
    from petals.server import server
    from petals.server.backend import TransformerBackend

    TransformerBackend.get_inference_cache_descriptors = inference_cache_descriptors
    server.Server._cache_bytes_per_block = property(_server_cache_bytes, _set_server_cache_bytes)
    announcer = server.ModuleAnnouncerThread
    if not getattr(announcer.__init__, "farmesh_head_dim", False):
        announcer.__init__ = _announcer_init(announcer.__init__)
