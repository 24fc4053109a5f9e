"""The names Petals main (22afba6) added to Petals' public API after 2.2, provided on top of Petals 2.2 by FarMesh.

`install()` (run by the bridge right after FarMesh's families register) adds: `petals.AutoDistributedSpeculativeModel`
and `petals.DistributedLlamaForSpeculativeGeneration` (mesh/models/speculative.py; a `model_for_speculative` entry in
Petals' model registry, as in Petals main), `petals.utils.misc.DUMMY_KEY_PAST` and `DUMMY_INT64`, and
`petals.server.block_utils.get_model_block`. Everything else Petals main's tests import already exists in 2.2. It also
gives Llama its sequence classifier back (mesh/models/sequence_classification.py) and installs the client's
deadlock-free session close (mesh/session_close.py), both of which Petals main's tests and benchmarks reach.
"""

from __future__ import annotations

import inspect
from typing import Any

PETALS_MAIN_COMMIT = "22afba6"
# (module, name) pairs this module adds: the README's list of what FarMesh adds to Petals 2.2's API.
ADDED = (
    ("petals", "AutoDistributedSpeculativeModel"),
    ("petals", "DistributedLlamaForSpeculativeGeneration"),
    ("petals.utils.auto_config", "AutoDistributedSpeculativeModel"),
    ("petals.models.llama", "DistributedLlamaForSpeculativeGeneration"),
    ("petals.utils.misc", "DUMMY_KEY_PAST"),
    ("petals.utils.misc", "DUMMY_INT64"),
    ("petals.server.block_utils", "get_model_block"),
)
_installed = False


def get_model_block(config: Any, layer_idx: int = 0) -> Any:
    """Petals main's `get_model_block`: one block of the config's family, built for layer `layer_idx` where the
    family's block takes a layer index (Mixtral's in Petals main) and plainly otherwise."""
    block_class = config.block_class
    parameters = inspect.signature(block_class.__init__).parameters
    if "layer_idx" in parameters:
        return block_class(config, layer_idx=layer_idx)
    return block_class(config)


def _speculative_registry(auto_config: Any) -> None:
    """Give every registered family a `model_for_speculative` entry (Llama's is FarMesh's), and let
    `register_model_classes(model_for_speculative=...)` work as in Petals main for families registered later."""
    from farnode_desktop.mesh.models import speculative

    field = speculative.SPECULATIVE_FIELD
    for classes in auto_config._CLASS_MAPPING.values():
        if not hasattr(classes, field):
            setattr(classes, field, None)
    llama = auto_config._CLASS_MAPPING.get("llama")
    if llama is not None and issubclass(speculative.DistributedLlamaForSpeculativeGeneration, llama.model_for_causal_lm):
        llama.model_for_speculative = speculative.DistributedLlamaForSpeculativeGeneration
        if llama.model_for_sequence_classification is None:  # Petals 2.2 and main have it; FarMesh's family had not
            from farnode_desktop.mesh.models import sequence_classification

            classifier = sequence_classification.DistributedLlamaForSequenceClassification
            llama.model_for_sequence_classification = classifier
            import petals

            petals.DistributedLlamaForSequenceClassification = classifier
            petals.models.llama.DistributedLlamaForSequenceClassification = classifier
    original = auto_config.register_model_classes
    if getattr(original, "farmesh_speculative", False):
        return

    def register_model_classes(*, config: Any, **kwargs: Any) -> None:
        model_for_speculative = kwargs.pop(field, None)
        original(config=config, **kwargs)
        setattr(auto_config._CLASS_MAPPING[config.model_type], field, model_for_speculative)

    register_model_classes.farmesh_speculative = True  # type: ignore[attr-defined]
    auto_config.register_model_classes = register_model_classes


def install() -> list[str]:
    """Add Petals main's names to the loaded petals package (idempotent); returns them as `module.name`."""
    global _installed
    import petals
    import torch
    from petals.server import block_utils
    from petals.utils import auto_config, misc

    from farnode_desktop.mesh import session_close
    from farnode_desktop.mesh.models import speculative

    session_close.install()  # Petals' tests (and any client) must not hang when a session is collected
    if not _installed:
        misc.DUMMY_KEY_PAST = torch.empty((0, 0, 0))
        misc.DUMMY_INT64 = torch.empty(0, dtype=torch.int64)
        block_utils.get_model_block = get_model_block
        auto_class = speculative.AutoDistributedSpeculativeModel
        auto_config.AutoDistributedSpeculativeModel = auto_class
        petals.AutoDistributedSpeculativeModel = auto_class
        spec_class = speculative.DistributedLlamaForSpeculativeGeneration
        petals.DistributedLlamaForSpeculativeGeneration = spec_class
        petals.models.llama.DistributedLlamaForSpeculativeGeneration = spec_class
        _installed = True
    _speculative_registry(auto_config)
    return [f"{module}.{name}" for module, name in ADDED]
