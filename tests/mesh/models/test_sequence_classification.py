"""DistributedLlamaForSequenceClassification (mesh/models/sequence_classification.py) through a supervised node, in
the runtime's Python: Petals' AutoDistributedModelForSequenceClassification gives it for a Llama; its logits equal
transformers' LlamaForSequenceClassification run locally with the same score head; a loss trains the local head and
the prompts (Petals' deep prompt tuning, as benchmark_training.py --task cls does)."""

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

folder, prefix, peers = json.loads(ARGS)
out = {}
model = petals.AutoDistributedModelForSequenceClassification.from_pretrained(
    folder, initial_peers=peers, dht_prefix=prefix, torch_dtype=torch.float32, num_labels=3)
out["class"] = type(model).__name__
local = transformers.LlamaForSequenceClassification.from_pretrained(folder, torch_dtype=torch.float32, num_labels=3)
local.score.load_state_dict(model.score.state_dict())
ids = torch.tensor([[1, 7, 42, 9, 100]])
with torch.no_grad():
    served, expected = model(ids).logits, local(ids).logits
out["logits_close"] = torch.allclose(served, expected, atol=1e-4)
out["shape"] = list(served.shape)

tuned = petals.AutoDistributedModelForSequenceClassification.from_pretrained(
    folder, initial_peers=peers, dht_prefix=prefix, torch_dtype=torch.float32, num_labels=2,
    tuning_mode="deep_ptune", pre_seq_len=2)
loss = tuned(ids, labels=torch.tensor([1])).loss
loss.backward()
out["loss_finite"] = bool(torch.isfinite(loss))
out["grads"] = {name: p.grad is not None and bool(p.grad.abs().sum() > 0)
                for name, p in tuned.named_parameters() if p.requires_grad}
print(json.dumps(out))
"""


def test_sequence_classification_over_the_swarm_equals_local_and_trains(
        tiny_llama_node: tuple[NodeStatus, Path, str]) -> None:
    status, model, prefix = tiny_llama_node
    args = json.dumps([str(model), prefix, list(status.multiaddrs)])
    out = run_in_runtime(f"ARGS = {args!r}\n{SCRIPT}", timeout=300)
    assert out["class"] == "DistributedLlamaForSequenceClassification"
    assert out["shape"] == [1, 3] and out["logits_close"], out
    assert out["loss_finite"]
    assert out["grads"].get("score.weight") is True, out["grads"]
    assert any("prompt" in name and grad for name, grad in out["grads"].items()), out["grads"]
