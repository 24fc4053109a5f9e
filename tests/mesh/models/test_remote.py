"""The client's side of generation in the runtime's Python: transformers' own generate() over RemotePastKeyValues
sends each token once, reorders beams through the servers' next step, and gives what a local model generates; with
no input ids on a fresh session it starts from the BOS token, as Petals' generate() does."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import contextlib
import json
import petals  # noqa: the farmesh.pth hook loads the families
import torch
from transformers import GenerationMixin, LlamaConfig, LlamaForCausalLM
from transformers.cache_utils import Cache, DynamicCache
from transformers.modeling_outputs import CausalLMOutputWithPast
from farnode_desktop.mesh.models.remote import RemotePastKeyValues, SwarmGeneration

out = {}
past = RemotePastKeyValues(2)
past.update_seen(3)
past.reorder_cache(torch.tensor([1, 0]))
out["past"] = [isinstance(past, Cache), past.get_seq_length(), past.get_max_length(), past.hypo_ids.tolist()]

sent = []
class StandIn(SwarmGeneration, LlamaForCausalLM):
    # transformers' own generate() drives it; its forward plays the servers: they keep the attention cache and
    # reorder it by the beams' hypo ids, as Petals' servers do with the next step
    def forward(self, input_ids=None, cache=None, attention_mask=None, use_cache=None, **kwargs):
        sent.append([input_ids.shape[1], cache.get_seq_length()])
        if cache.hypo_ids is not None:
            self.server_cache.reorder_cache(cache.hypo_ids)
            cache.hypo_ids = None
        result = LlamaForCausalLM.forward(self, input_ids=input_ids, cache=self.server_cache, use_cache=True)
        cache.update_seen(input_ids.shape[1])
        return CausalLMOutputWithPast(logits=result.logits, cache=cache)  # transformers 5's name for the cache

torch.manual_seed(0)
config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=2, pad_token_id=0)
local = LlamaForCausalLM(config).eval()
swarm = StandIn(config).eval()
swarm.load_state_dict(local.state_dict())
prompt = torch.tensor([[5, 9, 3, 0, 7], [1, 2, 0, 4, 8]])  # token 0 is also the pad token: still a real token
results = {}
for name, settings in (("greedy", {"do_sample": False}), ("beams", {"num_beams": 3, "do_sample": False})):
    with torch.no_grad():
        want = local.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=6, **settings)
        sent.clear()
        swarm.server_cache = DynamicCache()
        got = GenerationMixin.generate(swarm, prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=6,
                                       cache=RemotePastKeyValues(0), **settings)
    results[name] = {"same": torch.equal(got, want), "got": got.tolist(), "sent": list(sent)}
out["generate"] = results

# no input ids on a fresh session (Petals' benchmark_inference.py): transformers starts from the BOS token
swarm.use_session = lambda session: contextlib.nullcontext(session)
session = type("Session", (), {"output_ids": None, "position": 0})()  # what generate() reads of Petals' session
sent.clear()
swarm.server_cache = DynamicCache()
with torch.no_grad():
    got = swarm.generate(max_new_tokens=3, session=session, do_sample=False)
    want = local.generate(max_new_tokens=3, do_sample=False)
out["from_bos"] = {"got": got.tolist(), "want": want.tolist(), "sent": list(sent), "kept": session.output_ids.tolist()}
inputs = swarm.prepare_inputs_for_generation(torch.arange(6).view(1, 6), next_sequence_length=2,
                                             cache=RemotePastKeyValues(4))  # as transformers 5's generate() calls it
out["prepared"] = [inputs["input_ids"].tolist(), inputs["use_cache"]]
embeds = torch.zeros(1, 3, 32)
no_ids = torch.zeros(1, 0, dtype=torch.long)
out["prepared_embeds"] = swarm.prepare_inputs_for_generation(no_ids, cache=RemotePastKeyValues(0),
                                                             inputs_embeds=embeds)["inputs_embeds"] is embeds
try:
    swarm.prepare_inputs_for_generation(prompt, None, attention_mask=torch.tensor([[0, 1, 1, 1, 1], [1] * 5]))
except ValueError as exc:
    out["padded"] = str(exc)
print(json.dumps(out))
"""


def test_transformers_generate_sends_each_token_once_and_matches_a_local_model() -> None:
    out = run_in_runtime(SCRIPT)
    # a transformers 5 Cache (-1: no maximum) counting the tokens the servers have seen
    assert out["past"] == [True, 5, -1, [1, 0]]
    for name in ("greedy", "beams"):  # the same tokens as transformers' LlamaForCausalLM.generate on the same weights
        found = out["generate"][name]
        assert found["same"] is True, (name, found["got"])
        # the prompt once, then one new token a step: the servers already hold the rest
        assert found["sent"] == [[5, 0], [1, 5], [1, 6], [1, 7], [1, 8], [1, 9]], name
    assert out["generate"]["beams"]["got"] != out["generate"]["greedy"]["got"]  # the beams were reordered for real
    bos = out["from_bos"]  # generate() with no input ids: what LlamaForCausalLM.generate() gives from BOS alone
    assert bos["got"] == bos["want"] and bos["got"][0][0] == 1 and len(bos["got"][0]) == 4, bos
    assert bos["sent"] == [[1, 0], [1, 1], [1, 2]] and bos["kept"] == bos["got"]  # BOS, then a token a step
    assert out["prepared"] == [[[4, 5]], True]
    assert out["prepared_embeds"] is True
    assert out["padded"] == "FarMesh does not serve padded batches yet: give prompts of equal length"
