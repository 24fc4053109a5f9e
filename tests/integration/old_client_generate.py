"""Run by an old Petals client's own Python (scripts/old_clients.py): that Petals' client generates through a swarm,
and the same model runs locally with that environment's transformers. Only the environment's packages are used.

    python old_client_generate.py make FAMILY FOLDER SHAPE_JSON   # a tiny model written by this transformers
    python old_client_generate.py generate FOLDER DHT_PREFIX NEW_TOKENS PEER...

Each prints one `OLD-CLIENT-RESULT {json}` line.
"""

from __future__ import annotations

import json
import os
import sys


def make(family: str, folder: str, shape: dict[str, object]) -> dict[str, object]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, BloomModel

    torch.manual_seed(0)
    # wider weights than the 0.02 init so that greedy tokens vary (a sharper served == local)
    config = AutoConfig.for_model(family, initializer_range=0.5, **shape)
    if family == "bloom":  # the hub's key layout (h.N.*), as Petals loads BLOOM blocks
        config.architectures = ["BloomForCausalLM"]
        BloomModel(config).save_pretrained(folder, safe_serialization=True)
    else:
        AutoModelForCausalLM.from_config(config).save_pretrained(folder, safe_serialization=True)
    return {"folder": folder}


def generate(folder: str, prefix: str, new_tokens: int, peers: list[str]) -> dict[str, object]:
    import hivemind
    import petals
    import torch
    import transformers
    from petals import AutoDistributedModelForCausalLM
    from transformers import AutoModelForCausalLM

    prompt = torch.tensor([[5, 6, 7, 8, 9], [10, 11, 12, 13, 14]])
    model = AutoDistributedModelForCausalLM.from_pretrained(folder, initial_peers=peers, dht_prefix=prefix)
    served = model.generate(prompt, max_new_tokens=new_tokens, do_sample=False)
    local = AutoModelForCausalLM.from_pretrained(folder)
    with torch.no_grad():
        expected = local.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new_tokens,
                                  do_sample=False)
    remote = next(m for m in model.modules() if hasattr(m, "sequence_manager"))  # Petals' RemoteSequential
    spans = remote.sequence_manager.make_sequence(mode="min_latency")
    return {"tokens": served.tolist(), "local_tokens": expected.tolist(),
            "client_class": f"{type(model).__module__}.{type(model).__name__}",
            "versions": {"petals": petals.__version__, "hivemind": hivemind.__version__,
                         "transformers": transformers.__version__, "torch": torch.__version__},
            "route": [{"peer_id": str(s.peer_id), "start": s.start, "end": s.end} for s in spans]}


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "make":
        result = make(args[0], args[1], json.loads(args[2]))
    else:
        result = generate(args[0], args[1], int(args[2]), args[3:])
    print("OLD-CLIENT-RESULT " + json.dumps(result), flush=True)
    sys.stderr.flush()
    os._exit(0)  # hivemind's teardown can hang at interpreter exit; the result is out


if __name__ == "__main__":
    main()
