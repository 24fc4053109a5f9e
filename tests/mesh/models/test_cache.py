"""Attention caches in the runtime's Python: Petals' cache layout <-> transformers' (through Petals' own backend
code that allocates, slices and writes it), masks equal to the ones transformers' models build, and a layer fed
the converted cache answering as transformers' own DynamicCache path does."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import json
import torch
from transformers import LlamaConfig, MistralConfig
from transformers.cache_utils import DynamicCache
from transformers.models.llama.modeling_llama import LlamaModel, repeat_kv
from transformers.models.mistral.modeling_mistral import MistralModel
from petals.server.backend import TransformerBackend
from types import SimpleNamespace
from farnode_desktop.mesh.models import cache

ONE_SHARD = SimpleNamespace(module=SimpleNamespace(module_shards=[None]))  # what _select_layer_past asks of a backend

torch.manual_seed(0)
out = {}
B, HEADS, KV, DIM, P, S = 2, 4, 2, 8, 5, 3  # grouped-query attention: 2 query heads per key-value head

# The two layouts: transformers' [batch, kv, len, dim] and the shapes Petals' backend allocates per block
# (`get_inference_cache_descriptors`), sliced to a layer_past by Petals' own `_select_layer_past`.
keys, values = torch.randn(B, KV, P, DIM), torch.randn(B, KV, P, DIM)
pk, pv = cache.hf_to_petals(keys, values)
stored = [torch.zeros(B, KV, DIM, P + S), torch.zeros(B, KV, P + S, DIM)]
TransformerBackend._update_cache_inplace(None, stored, [pk, pv], 0)
out["stored_keys"] = torch.equal(stored[0][..., :P], keys.transpose(-1, -2))
out["stored_values"] = torch.equal(stored[1][:, :, :P], values)
past = TransformerBackend._select_layer_past(ONE_SHARD, stored, P)
back = cache.petals_to_hf(past, B, KV)
out["round_trip"] = torch.equal(back[0], keys) and torch.equal(back[1], values)

# Masks: what transformers 5's models build (masking_utils, eager attention, an all-ones attention mask of
# past + new tokens).
from transformers.masking_utils import create_causal_mask, create_sliding_window_causal_mask

def hf_mask(model_cls, config, past, seq, batch):
    dyn = DynamicCache()
    if past:
        dyn.update(torch.zeros(batch, KV, past, DIM), torch.zeros(batch, KV, past, DIM), 0)
    make = create_sliding_window_causal_mask if model_cls is MistralModel else create_causal_mask
    return make(config=config, inputs_embeds=torch.zeros(batch, seq, config.hidden_size),
                attention_mask=torch.ones(batch, past + seq, dtype=torch.long), cache=dyn,
                position_ids=torch.arange(past, past + seq).unsqueeze(0), allow_is_causal_skip=False)

small = dict(hidden_size=HEADS * DIM, intermediate_size=16, num_attention_heads=HEADS, num_key_value_heads=KV,
             num_hidden_layers=1, vocab_size=16, attn_implementation="eager")
masks = []
for past, seq in ((0, 5), (4, 3), (6, 1)):
    want = hf_mask(LlamaModel, LlamaConfig(**small), past, seq, B)
    got = cache.causal_mask(B, seq, past, torch.float32, torch.device("cpu"))
    masks.append(["causal", past, seq, list(got.shape) == list(want.shape) and torch.equal(got, want)])
    for window in (2, 3):
        want = hf_mask(MistralModel, MistralConfig(**small, sliding_window=window), past, seq, B)
        got = cache.causal_mask(B, seq, past, torch.float32, torch.device("cpu"), sliding_window=window)
        masks.append([f"window {window}", past, seq, list(got.shape) == list(want.shape) and torch.equal(got, want)])
out["masks"] = masks
one_query = cache.causal_mask(1, 1, 6, torch.float32, torch.device("cpu"), sliding_window=3)
out["window_sees"] = (one_query == 0)[0, 0, 0].tolist()

# One layer fed by the converted cache answers as transformers' own model does with its DynamicCache.
def through_a_layer(model_cls, config):
    torch.manual_seed(1)
    model = model_cls(config).eval()
    model.norm = torch.nn.Identity()
    prompt, new = torch.randn(B, P, config.hidden_size), torch.randn(B, S, config.hidden_size)
    with torch.no_grad():
        ref = DynamicCache()
        model(inputs_embeds=prompt, cache=ref, use_cache=True)
        want = model(inputs_embeds=new, cache=ref, use_cache=True).last_hidden_state
        layer = model.layers[0]
        window = getattr(config, "sliding_window", None)
        stored = [torch.zeros(B, KV, DIM, P + S), torch.zeros(B, KV, P + S, DIM)]
        got = None
        for start, chunk in ((0, prompt), (P, new)):
            seq = chunk.shape[1]
            keys, values = cache.petals_to_hf(TransformerBackend._select_layer_past(ONE_SHARD, stored, start), B, KV)
            dyn = DynamicCache()
            if start:
                dyn.update(keys, values, 0)
            ids = cache.positions(start, seq, B, chunk.device)
            mask = cache.causal_mask(B, seq, start, chunk.dtype, chunk.device, sliding_window=window)
            got = layer(chunk, attention_mask=mask, position_ids=ids, cache=dyn, use_cache=True,
                        position_embeddings=model.rotary_emb(chunk, ids))
            written = cache.cache_to_petals(dyn)
            TransformerBackend._update_cache_inplace(None, stored, written, start)
    return {"output": torch.allclose(got, want, atol=1e-5), "max_diff": (got - want).abs().max().item(),
            "keys": torch.allclose(stored[0], ref.layers[0].keys.transpose(-1, -2), atol=1e-6),
            "values": torch.allclose(stored[1], ref.layers[0].values, atol=1e-6)}

out["llama"] = through_a_layer(LlamaModel, LlamaConfig(**small))
out["mistral_window"] = through_a_layer(MistralModel, MistralConfig(**small, sliding_window=3))

# expand/collapse: transformers' repeat_kv (each kv head repeated for its group of query heads)
state = torch.randn(B, KV, P, DIM)
out["expand"] = [torch.equal(cache.expand_kv(state, g), repeat_kv(state, g)) for g in (1, 2, 4)]
out["collapse"] = [torch.equal(cache.collapse_kv(repeat_kv(state, g), g), state) for g in (1, 2, 4)]
print(json.dumps(out))
"""


def test_petals_layout_round_trips_and_masks_and_a_layer_match_transformers() -> None:
    out = run_in_runtime(SCRIPT)
    # Petals' backend stores keys [batch, kv, dim, len] and values [batch, kv, len, dim]; its slice comes back as is
    assert out["stored_keys"] and out["stored_values"] and out["round_trip"]
    assert [m for m in out["masks"] if not m[3]] == []  # equal to LlamaModel's / MistralModel's own masks
    assert len(out["masks"]) == 9
    assert out["window_sees"] == [False] * 4 + [True] * 3  # a window of 3 sees the last 3 positions, itself included
    for model in ("llama", "mistral_window"):  # same output and same cache as transformers' own DynamicCache path
        assert out[model] == {"output": True, "max_diff": out[model]["max_diff"], "keys": True, "values": True}, model
        assert out[model]["max_diff"] < 1e-5
    assert out["expand"] == [True] * 3  # transformers' repeat_kv
    assert out["collapse"] == [True] * 3
