"""Server-side attention caches: Petals' cache layout <-> transformers' layout, positions and causal masks.

Petals' server keeps each block's cache in its memory cache as BLOOM's layout: keys `[batch * kv_heads, head_dim,
length]`, values `[batch * kv_heads, length, head_dim]` (`TransformerBackend.get_inference_cache_descriptors`).
transformers' decoder layers use `[batch, kv_heads, length, head_dim]` for both.
"""

from __future__ import annotations

from typing import Any

import torch

KVCache = tuple[torch.Tensor, torch.Tensor]


def prepare_block_config(config: Any) -> None:
    """What a standalone transformers 5 layer needs from its config: an attention implementation (the model picks
    one when it loads; a lone layer would fall back to eager with a warning) and, for MoE layers, an experts one."""
    if getattr(config, "_attn_implementation", None) is None:
        config._attn_implementation = "sdpa"
    if hasattr(config, "_experts_implementation") and config._experts_implementation is None:
        config._experts_implementation = "eager"


def layer_cache(layer_past: Any, batch_size: int, kv_heads: int) -> tuple[Any, int]:
    """A one-layer transformers `DynamicCache` holding Petals' cached keys/values (transformers 5's layers call
    `cache.update(k, v, layer_idx)`), and the cached length."""
    from transformers.cache_utils import DynamicCache

    cache = DynamicCache()
    past_length = 0
    if layer_past is not None:
        keys, values = petals_to_hf(layer_past, batch_size, kv_heads)
        past_length = keys.shape[2]
        if past_length:
            cache.update(keys, values, 0)
    return cache, past_length


def cache_to_petals(cache: Any) -> KVCache:
    """The one layer of a `DynamicCache` (transformers 5: `cache.layers[0].keys`; 4.x: `cache.key_cache[0]`) in
    Petals' layout."""
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return hf_to_petals(layers[0].keys, layers[0].values)
    return hf_to_petals(cache.key_cache[0], cache.value_cache[0])


def petals_to_hf(layer_past: Any, batch_size: int, kv_heads: int) -> KVCache:
    """Petals' `(keys, values)` of one block to transformers' `[batch, kv_heads, length, head_dim]` pair."""
    keys, values = layer_past[0], layer_past[1]
    _, length, head_dim = values.shape
    keys = keys.permute(0, 2, 1).reshape(batch_size, kv_heads, length, head_dim)
    values = values.reshape(batch_size, kv_heads, length, head_dim)
    return keys, values


def hf_to_petals(keys: torch.Tensor, values: torch.Tensor) -> KVCache:
    """transformers' `[batch, kv_heads, length, head_dim]` pair to Petals' layout (what the backend writes back)."""
    batch_size, kv_heads, length, head_dim = keys.shape
    values = values.reshape(batch_size * kv_heads, length, head_dim)
    keys = keys.reshape(batch_size * kv_heads, length, head_dim).permute(0, 2, 1)
    return keys, values


def positions(past_length: int, seq_length: int, batch_size: int, device: torch.device) -> torch.Tensor:
    """Position ids `[batch, seq]` of the new tokens: they follow the `past_length` tokens already cached."""
    ids = torch.arange(past_length, past_length + seq_length, dtype=torch.long, device=device)
    return ids.unsqueeze(0).expand(batch_size, -1)


def causal_mask(batch_size: int, seq_length: int, past_length: int, dtype: torch.dtype, device: torch.device,
                sliding_window: int | None = None) -> torch.Tensor:
    """An additive causal mask `[batch, 1, seq, past + seq]`: 0 where a query may attend, the dtype's minimum where
    not. With a sliding window a query sees only the last `sliding_window` positions (the mask transformers 4.43
    builds in MistralModel; its MixtralModel windows only under flash attention)."""
    total = past_length + seq_length
    query_pos = torch.arange(past_length, total, device=device).unsqueeze(1)
    key_pos = torch.arange(total, device=device).unsqueeze(0)
    allowed = key_pos <= query_pos
    if sliding_window:
        allowed &= key_pos > query_pos - sliding_window
    mask = torch.zeros(seq_length, total, dtype=dtype, device=device)
    mask = mask.masked_fill(~allowed, torch.finfo(dtype).min)
    return mask[None, None].expand(batch_size, 1, seq_length, total)


def expand_kv(state: torch.Tensor, groups: int) -> torch.Tensor:
    """`[batch, kv_heads, len, dim]` -> `[batch, kv_heads * groups, len, dim]` (each kv head repeated per group)."""
    if groups == 1:
        return state
    batch, kv_heads, length, dim = state.shape
    return state[:, :, None].expand(batch, kv_heads, groups, length, dim).reshape(batch, kv_heads * groups, length, dim)


def collapse_kv(state: torch.Tensor, groups: int) -> torch.Tensor:
    """The inverse of `expand_kv`: keep one of each group's identical copies."""
    if groups == 1:
        return state
    batch, heads, length, dim = state.shape
    return state.view(batch, heads // groups, groups, length, dim)[:, :, 0].contiguous()
