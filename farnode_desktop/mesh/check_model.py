"""Can this node runtime serve this model? Checked before a launch, so an unsupported model is refused with a plain
reason instead of a server that restarts until it "exited unexpectedly".

`python -m farnode_desktop.mesh.check_model MODEL` (a model folder, or a hub name whose config.json is reachable)
prints one JSON object: `ok`, `model`, `model_type`, `family`, `num_blocks`, `dht_prefix` (Petals' rule; none for a
folder) and `problems` (plain sentences). Exit status 0 when it can be served, 1 when not.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from farnode_desktop.mesh.models import MIN_TRANSFORMERS, supported_here, transformers_version
from farnode_desktop.mesh.models.families import config_problems, dht_prefix, family_of, folder_problems
from farnode_desktop.mesh.wire import loads_bounded


def _hub_config(name: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(name, "config.json")
        config = loads_bounded(Path(path).read_text(encoding="utf-8"))
    except ImportError:
        return None, ["this Python has no huggingface_hub: run the check with the node runtime's Python"]
    except Exception as exc:  # offline, unknown repo, gated repo: all mean the server could not load it either
        return None, [f"could not read {name}'s config.json: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"]
    if not isinstance(config, dict):
        return None, [f"{name}'s config.json is not a JSON object"]
    return config, config_problems(config)


def _runtime_problems(config: dict[str, Any], source: str) -> list[str]:
    """What only the runtime's transformers can tell: its version, and whether it accepts this config."""
    version = transformers_version()
    if version is None:
        return []  # not the node runtime's Python: the config checks above are all there is
    problems = []
    if not supported_here():
        scaling = config.get("rope_scaling") or {}
        needs_new = config.get("model_type") == "mixtral" or (
            isinstance(scaling, dict) and scaling.get("rope_type", scaling.get("type")) == "llama3")
        if needs_new:
            wanted = ".".join(map(str, MIN_TRANSFORMERS))
            problems.append(f"this node runtime has transformers {version[0]}.{version[1]}; this model needs "
                            f"{wanted} or newer: update the node runtime (`farnode runtime install`)")
            return problems
    said = _RopeWarnings()
    rope_logger = logging.getLogger("transformers")
    rope_logger.addHandler(said)
    try:
        from transformers import AutoConfig

        AutoConfig.from_pretrained(source)
    except Exception as exc:
        reason = said.messages[0] if said.messages else str(exc).splitlines()[0][:300]
        problems.append(f"the node runtime's transformers rejects the config: {reason}")
        return problems
    finally:
        rope_logger.removeHandler(said)
    # transformers 4.43 refused a RoPE field out of range; 5.x only logs it and would serve wrong numbers
    problems.extend(f"the node runtime's transformers rejects the config: {message}" for message in said.messages)
    return problems


class _RopeWarnings(logging.Handler):
    """Collects transformers' warnings about the config's RoPE fields (`rope_parameters`'s ... field must ...)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "rope_parameters`'s" in message and "must" in message:
            self.messages.append(message.splitlines()[0][:300])


def check_model(model: str) -> dict[str, Any]:
    """The verdict on `model` (folder or hub name) for this Python; see the module docstring."""
    folder = Path(model)
    if folder.is_dir():
        config, problems = folder_problems(folder)
    else:
        config, problems = _hub_config(model)
    family = family_of(config) if config is not None else None
    if config is not None and not problems:
        problems = _runtime_problems(config, model)
    layers = None
    if config is not None:
        layers = config.get("num_hidden_layers", config.get("n_layer"))
    return {
        "ok": not problems,
        "model": model,
        "model_type": config.get("model_type") if config is not None else None,
        "family": family.name if family is not None else None,
        "num_blocks": layers if isinstance(layers, int) else None,
        "dht_prefix": dht_prefix(str(config.get("model_type")), model) if config is not None else None,
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="farnode-check-model", description=__doc__)
    parser.add_argument("model", help="a model folder or a hub name")
    args = parser.parse_args(argv)
    verdict = check_model(args.model)
    print(json.dumps(verdict))
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
