"""Generates tokens through the swarm with FarMeshClient and, on request, the same model run locally (test oracle).

`python -m farnode_desktop.mesh.generate MODEL --initial-peers ADDR --dht-prefix P --prompt 1,2,3 --new-tokens 20
[--batch 2] [--compare-local]` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any


def generate(model: str, initial_peers: list[str], dht_prefix: str | None, prompt: list[int], new_tokens: int,
             batch: int = 1, compare_local: bool = False) -> dict[str, Any]:
    import torch

    from farnode_desktop.mesh.client import FarMeshClient

    client = FarMeshClient.connect(model, initial_peers, dht_prefix=dht_prefix)
    ids = torch.tensor([prompt] * batch)
    started = time.perf_counter()
    out = client.generate(ids, max_new_tokens=new_tokens, do_sample=False)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "tokens": out.tolist(),
        "batch": batch,
        "prompt_len": len(prompt),
        "new_tokens": new_tokens,
        "seconds": seconds,
        "route": client.route(),
    }
    if compare_local:
        from transformers import AutoModelForCausalLM

        local = AutoModelForCausalLM.from_pretrained(model)
        result["local_tokens"] = local.generate(ids, max_new_tokens=new_tokens, do_sample=False).tolist()
    client.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--initial-peers", nargs="+", required=True)
    parser.add_argument("--dht-prefix")
    parser.add_argument("--prompt", default="1,2,3,4,5")
    parser.add_argument("--new-tokens", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare-local", action="store_true")
    args = parser.parse_args()
    prompt = [int(t) for t in args.prompt.split(",")]
    results = [generate(args.model, args.initial_peers, args.dht_prefix, prompt, args.new_tokens, args.batch,
                        args.compare_local and i == 0) for i in range(args.repeat)]
    print("FARMESH-RESULT " + json.dumps(results[0] if args.repeat == 1 else results), flush=True)
    # hivemind's teardown can hang in interpreter shutdown (its event-loop thread); the result is out, so leave.
    import os
    import sys

    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
