"""What every FarMesh family's config adds to transformers' config: Petals' client settings, its DHT prefix rule and a
local folder's block layout on load."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from petals.client.config import ClientConfig
from petals.client.lm_head import LMHeadConfig
from petals.client.ptune import PTuneConfig
from transformers import PretrainedConfig

from farnode_desktop.mesh.models.families import FAMILIES, block_prefix_in, dht_prefix


class FarMeshConfigMixin(ClientConfig, PTuneConfig, LMHeadConfig):
    """Petals' client, prompt-tuning and LM-head settings (dataclass defaults). Listed after the transformers config
    class in each family's bases, so that the transformers config's `__init__` is the one that runs."""


def prefix_for(model_type: str, model_name_or_path: str | os.PathLike[str] | None, given: str | None) -> str | None:
    """The DHT prefix to use: the one given, else Petals' rule for a hub name (a local folder has none)."""
    if given is not None or model_name_or_path is None:
        return given
    return dht_prefix(model_type, str(model_name_or_path))


def finish_config(result: Any, model_name_or_path: str | os.PathLike[str] | None) -> Any:
    """After loading: a local folder saved in the other block layout (BLOOM's `transformer.h.N.*`) is read from
    where its blocks are."""
    config = result[0] if isinstance(result, tuple) else result
    if model_name_or_path is not None and os.path.isdir(model_name_or_path):
        family = FAMILIES[config.model_type]
        found = block_prefix_in(Path(model_name_or_path), family)
        if found is not None and found != type(config).block_prefix:
            config.block_prefix = found
    return result


class FarMeshConfigLoading(PretrainedConfig):
    """Listed first in each family's config bases: from_pretrained with Petals' DHT prefix rule for the family's
    `model_type` and the local folder's block layout, then the family's own settings (`finish_family`)."""

    @classmethod
    def from_pretrained(cls, model_name_or_path: str | os.PathLike[str] | None, *args: Any,
                        dht_prefix: str | None = None, **kwargs: Any) -> Any:
        dht_prefix = prefix_for(cls.model_type, model_name_or_path, dht_prefix)
        result = finish_config(super().from_pretrained(model_name_or_path, *args, dht_prefix=dht_prefix, **kwargs),
                               model_name_or_path)
        cls.finish_family(result[0] if isinstance(result, tuple) else result)
        return result

    @classmethod
    def finish_family(cls, config: Any) -> None:
        """The family's settings after loading (none here)."""


class LlamaStyleConfigLoading(FarMeshConfigLoading):
    """The same for a family with transformers' Llama-style layout (Llama, Mixtral): blocks under `model.layers`,
    grouped-query attention."""

    block_prefix = "model.layers"

    @property
    def num_key_value_groups(self) -> int:
        return int(self.num_attention_heads // self.num_key_value_heads)
