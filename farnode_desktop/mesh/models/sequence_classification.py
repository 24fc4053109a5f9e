"""Sequence classification over the swarm for FarMesh's Llama family (Petals 2.2's and main's
`DistributedLlamaForSequenceClassification`, which FarMesh's family replacement had left out): transformers'
LlamaForSequenceClassification with its decoder layers in the swarm and a local `score` head (trainable, with
prompt tuning), as Petals' benchmark_training.py --task cls uses it."""

from __future__ import annotations

from typing import Any

from petals.client.from_pretrained import FromPretrainedMixin
from torch import nn
from transformers import PreTrainedModel
from transformers.models.llama import LlamaForSequenceClassification

from farnode_desktop.mesh.models.llama import DistributedLlamaConfig, DistributedLlamaModel
from farnode_desktop.mesh.models.swarm_body import part


class DistributedLlamaForSequenceClassification(FromPretrainedMixin, LlamaForSequenceClassification):
    """LlamaForSequenceClassification whose decoder layers run in the swarm."""

    config_class = DistributedLlamaConfig
    _keys_to_ignore_on_load_missing = DistributedLlamaModel._keys_to_ignore_on_load_missing
    _keys_to_ignore_on_load_unexpected = DistributedLlamaModel._keys_to_ignore_on_load_unexpected
    transformer = part("model")  # where Petals' code looks for the base model

    def __init__(self, config: Any) -> None:
        PreTrainedModel.__init__(self, config)  # not LlamaForSequenceClassification's: it would build local layers
        self.num_labels = config.num_labels
        self.model = DistributedLlamaModel(config)
        self.score = nn.Linear(config.hidden_size, config.num_labels, bias=False)
        self.post_init()


CLASSES = {"model_for_sequence_classification": DistributedLlamaForSequenceClassification}
