"""Speculative generation (mesh/models/speculative.py) through a supervised FarNode node, in the runtime's Python:
Petals main's `AutoDistributedSpeculativeModel` with a small local model gives exactly the swarm's greedy output
(= local transformers), with a perfect drafter in a few swarm steps, with a poor one in more (each rejected draft
rolled back on the servers), stopping at max_new_tokens exactly; sampling and batches are refused in plain words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.status import NodeStatus
from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_dir_for_tests

pytestmark = [pytest.mark.runtime, pytest.mark.slow,
              pytest.mark.skipif(not NodeRuntime(runtime_dir_for_tests()).is_installed(), reason=RUNTIME_ABSENT)]


SCRIPT = r"""
import json
import torch, transformers
import petals
from petals.client import inference_session
from farnode_desktop.mesh.models.speculative import SpeculativeGenerationError

folder, prefix, peers = json.loads(ARGS)
local = transformers.AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
noisy = transformers.AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
with torch.no_grad():
    torch.manual_seed(1)
    noisy.lm_head.weight += torch.randn_like(noisy.lm_head.weight) * 0.05
steps, rollbacks = [], []
step, setter = inference_session.InferenceSession.step, inference_session.InferenceSession.position.fset
def counting_step(self, inputs, *args, **kwargs):
    steps.append(inputs.shape[1])
    return step(self, inputs, *args, **kwargs)
def counting_setter(self, value):
    rollbacks.append(self.position - value)
    setter(self, value)
inference_session.InferenceSession.step = counting_step
inference_session.InferenceSession.position = property(inference_session.InferenceSession.position.fget, counting_setter)

prompt = torch.tensor([[1, 5, 9, 14, 3, 7]])
new_tokens = 23  # not a multiple of the 10 drafted per round: generation must stop exactly there
expected = local.generate(prompt, max_new_tokens=new_tokens, do_sample=False)
out = {"class": None, "runs": {}}
for name, small in (("perfect", local), ("noisy", noisy)):
    model = petals.AutoDistributedSpeculativeModel.from_pretrained(folder, initial_peers=peers, dht_prefix=prefix,
                                                                  torch_dtype=torch.float32, small_model=small)
    out["class"] = type(model).__name__
    steps.clear(); rollbacks.clear()
    got = model.generate(prompt, max_new_tokens=new_tokens, do_sample=False)
    out["runs"][name] = {"equal": torch.equal(got, expected), "length": got.shape[1], "steps": list(steps),
                         "rollbacks": list(rollbacks)}
refused = []
for kwargs, inputs in (({"do_sample": True}, prompt), ({}, prompt.repeat(2, 1))):
    try:
        model.generate(inputs, max_new_tokens=4, **kwargs)
    except SpeculativeGenerationError as exc:
        refused.append(str(exc))
bare = petals.AutoDistributedSpeculativeModel.from_pretrained(folder, initial_peers=peers, dht_prefix=prefix,
                                                             torch_dtype=torch.float32)
try:
    bare.generate(prompt, max_new_tokens=4)
except SpeculativeGenerationError as exc:
    refused.append(str(exc))
out["refused"] = refused
out["expected_length"] = expected.shape[1]
model.transformer.h.sequence_manager.shutdown()
print(json.dumps(out))
"""


def test_speculative_generation_equals_greedy_and_rolls_back_rejected_drafts(
        tiny_llama_node: tuple[NodeStatus, Path, str]) -> None:
    status, model, prefix = tiny_llama_node
    args = json.dumps([str(model), prefix, list(status.multiaddrs)])
    out = run_in_runtime(f"ARGS = {args!r}\n{SCRIPT}", timeout=300)
    assert out["class"] == "DistributedLlamaForSpeculativeGeneration"
    perfect, noisy = out["runs"]["perfect"], out["runs"]["noisy"]
    assert perfect["equal"] and noisy["equal"], out
    assert perfect["length"] == noisy["length"] == out["expected_length"] == 6 + 23
    # A perfect drafter: every draft kept, so 3 swarm steps (prompt + 9 drafted, then 10, then 4) for 23 tokens.
    assert len(perfect["steps"]) == 3, perfect
    assert sum(perfect["rollbacks"]) == 0, perfect
    # A poor drafter: more rounds, and the tokens the swarm turned down are cut from the servers' caches.
    assert len(noisy["steps"]) > len(perfect["steps"]), noisy
    assert sum(noisy["rollbacks"]) > 0, noisy
    assert len(out["refused"]) == 3
    assert "greedy only" in out["refused"][0] and "one sequence at a time" in out["refused"][1]
    assert "small local model" in out["refused"][2]
