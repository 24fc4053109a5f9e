"""The swarm model body in the runtime's Python: FarMesh's Llama base model has no local decoder layers (a
RemoteSequential on a lone local DHT takes their place) and, with a stand-in for the servers running the same
layers, gives transformers' LlamaModel's own hidden states; what it does not serve is refused before the swarm."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import json
import petals  # the farmesh.pth hook loads the families
import torch
from hivemind import DHT
from transformers import LlamaConfig, LlamaModel
from farnode_desktop.mesh.models.llama import DistributedLlamaConfig, DistributedLlamaModel
from farnode_desktop.mesh.models.remote import RemotePastKeyValues

out = {}
dht = DHT(start=True, client_mode=True, initial_peers=[])  # a lone local DHT: RemoteSequential needs a running one
shape = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2)
body = DistributedLlamaModel(DistributedLlamaConfig(**shape, dht_prefix="tiny-hf"), dht=dht)
out["parts"] = [type(body.h).__name__, len(body.h), body.config.num_hidden_layers, body.h is body.layers,
                body.word_embeddings is body.embed_tokens, body.ln_f is body.norm,
                type(body.word_embeddings_layernorm).__name__,
                sorted({name.split(".")[0] for name, _ in body.named_parameters()}),
                any(p.requires_grad for p in body.parameters())]

torch.manual_seed(0)
local = LlamaModel(LlamaConfig(**shape)).eval()
body.load_state_dict(local.state_dict(), strict=False)  # the embeddings and the final norm stay here

class Swarm(torch.nn.Module):
    # stands for the servers: the same decoder layers, run by transformers' own LlamaModel (no final norm)
    position = 0
    def __init__(self):
        super().__init__()
        self.model = LlamaModel(LlamaConfig(**shape)).eval()
        self.model.load_state_dict(local.state_dict())
        self.model.norm = torch.nn.Identity()
        self.calls = []
    def forward(self, hidden, prompts=None, hypo_ids=None):
        self.calls.append([list(hidden.shape), prompts, None if hypo_ids is None else hypo_ids.tolist()])
        return self.model(inputs_embeds=hidden).last_hidden_state

body.layers = Swarm()
ids = torch.tensor([[5, 9, 3, 0, 7], [1, 2, 0, 4, 8]])
past = RemotePastKeyValues(0)
past.reorder_cache(torch.tensor([1, 0]))
with torch.no_grad():
    want = local(ids).last_hidden_state
    got = body(ids, past_key_values=past)
out["same"] = torch.allclose(got.last_hidden_state, want, atol=1e-5)
out["past"] = [got.cache is past,  # transformers 5 names the field `cache`
                past.get_seq_length(), past.hypo_ids]
out["calls"] = body.layers.calls
refused = []
for kwargs in ({"input_ids": ids, "attention_mask": torch.tensor([[0, 1, 1, 1, 1], [1] * 5])},
               {"input_ids": ids, "position_ids": torch.tensor([[0, 1, 2, 4, 5]] * 2)},
               {"input_ids": ids, "use_cache": False}, {"input_ids": ids, "output_attentions": True},
               {"input_ids": ids, "inputs_embeds": torch.zeros(2, 5, 32)}, {}):
    try:
        body(**kwargs)
    except ValueError as exc:
        refused.append(str(exc))
out["refused"] = refused
out["accepted"] = body(ids, attention_mask=torch.ones_like(ids),
                       position_ids=torch.arange(3, 8).expand(2, -1)).last_hidden_state.shape[1]
dht.shutdown()
print(json.dumps(out))
"""


def test_the_body_keeps_embeddings_and_norm_here_and_matches_transformers() -> None:
    out = run_in_runtime(SCRIPT)
    # Petals' names over transformers' parts; the layers' weights are not here; nothing to train
    assert out["parts"] == ["RemoteSequential", 2, 2, True, True, True, "Identity", ["embed_tokens", "norm"], False]
    assert out["same"] is True  # LlamaModel's last hidden state
    assert out["past"] == [True, 5, None]  # the session has seen 5 tokens; the beam order went with that step
    assert out["calls"] == [[[2, 5, 32], None, [1, 0]], [[2, 5, 32], None, None]]  # refused calls reach no server
    assert out["refused"] == ["FarMesh does not serve custom attention masks (padding) yet",
                              "FarMesh serves consecutive positions only",
                              *["FarMesh models run with use_cache, without attentions or hidden states, and return "
                                "a dict"] * 2,
                              *["give either input_ids or inputs_embeds"] * 2]
    assert out["accepted"] == 5  # an all-ones mask and consecutive positions from 3 are fine
