"""Run by the node runtime's Python in tests: a Petals client rolls an inference session back
(`start_from_position`) and continues; the same model run locally with transformers gives the expected tokens.

`python tests/integration/family_client.py MODEL_DIR DHT_PREFIX PEER...` prints one `FARMESH-RESULT {json}` line.
"""

from __future__ import annotations

import json
import os
import sys

from farnode_desktop.mesh import client  # noqa: F401  (the bridge first, and Petals 2.2's session-close fix)


def main() -> None:
    import torch
    from petals import AutoDistributedModelForCausalLM
    from transformers import AutoModelForCausalLM

    folder, prefix, peers = sys.argv[1], sys.argv[2], sys.argv[3:]
    model = AutoDistributedModelForCausalLM.from_pretrained(folder, initial_peers=peers, dht_prefix=prefix)
    local = AutoModelForCausalLM.from_pretrained(folder)
    prompt = torch.tensor([[5, 6, 7, 8, 9], [10, 11, 12, 13, 14]])
    new = torch.tensor([[40, 41], [42, 43]])
    served: dict[str, list[list[int]]] = {}
    with model.inference_session(max_length=48) as session:
        first = model.generate(prompt, max_new_tokens=8, do_sample=False)  # the session holds 12 tokens
        served["first"] = first.tolist()
        positions = [session.position]
        session.position = 8  # roll back: keep the prompt and 3 generated tokens
        served["after_new"] = model.generate(new, max_new_tokens=6, do_sample=False).tolist()
        positions.append(session.position)
        kept = session.output_ids[:, :11]
        session.position = 11  # roll back into what the last call generated, continue without new tokens
        served["continued"] = model.generate(None, max_new_tokens=5, do_sample=False).tolist()
        positions.append(session.position)
    def run_local(ids: torch.Tensor, new_tokens: int) -> torch.Tensor:
        # every token is a real one here too (no mask guessed from the pad token id)
        return local.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, do_sample=False)

    with torch.no_grad():
        local_first = run_local(prompt, 8)
        local_after = run_local(torch.cat([local_first[:, :8], new], dim=1), 6)
        local_continued = run_local(local_after[:, :11], 5)
    result = {
        "served": served,
        "local": {"first": local_first.tolist(), "after_new": local_after[:, 8:].tolist(),
                  "continued": local_continued[:, 11:].tolist()},
        "kept": kept.tolist(),
        "local_kept": local_after[:, :11].tolist(),
        "positions": positions,
    }
    print("FARMESH-RESULT " + json.dumps(result), flush=True)
    sys.stderr.flush()
    os._exit(0)  # hivemind's teardown can hang at interpreter exit; the result is out


if __name__ == "__main__":
    main()
