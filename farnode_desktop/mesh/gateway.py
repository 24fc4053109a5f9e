"""The FarMesh gateway: sends inference through the swarm and reports to the coordinator who served which blocks.

`python -m farnode_desktop.mesh.gateway MODEL --initial-peers ADDR --dht-prefix P --coordinator URL
[--requests N] [--interval S]`; the gateway's credential comes from the FARNODE_GATEWAY_TOKEN environment variable.
Each request prints one JSON line: the route, the tokens per span, and the coordinator's receipt.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any


def _record_routes(model: Any) -> list[list[Any]]:
    """Wrap the client's route finder so each request's actual spans (after any retries) are known."""
    manager = model.transformer.h.sequence_manager
    calls: list[list[Any]] = []
    original = manager.make_sequence

    def make_sequence(*args: Any, **kwargs: Any) -> Any:
        spans = original(*args, **kwargs)
        calls.append(list(spans))
        return spans

    manager.make_sequence = make_sequence
    return calls


def report_usage(coordinator: str, token: str, body: dict[str, Any], timeout_s: float = 10.0) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (the configured coordinator)
        coordinator.rstrip("/") + "/v1/gateway/usage", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (the configured coordinator)
        answer: dict[str, Any] = json.loads(response.read().decode())
        return answer


def run(args: argparse.Namespace) -> int:
    import torch

    from farnode_desktop.mesh.client import FarMeshClient

    token = os.environ.get("FARNODE_GATEWAY_TOKEN", "")
    # a stuck step must not stall the gateway: give up on it after request_timeout and go on
    client = FarMeshClient.connect(args.model, args.initial_peers, dht_prefix=args.dht_prefix,
                                   request_timeout=args.request_timeout)
    routes = _record_routes(client.model)
    vocab = int(client.model.config.vocab_size)
    rng = random.Random(args.seed)
    sent = 0
    while args.requests == 0 or sent < args.requests:
        prompt = [rng.randrange(1, vocab) for _ in range(args.prompt_tokens)]
        ids = torch.tensor([prompt] * args.batch)
        routes.clear()
        started = time.perf_counter()
        try:
            client.generate(ids, max_new_tokens=args.new_tokens, do_sample=False)
        except Exception as exc:  # the swarm may be restarting: say so, wait, go on
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
            time.sleep(args.interval)
            continue
        seconds = time.perf_counter() - started
        # The server counts the prompt once and one token per later step, for every row of the batch.
        tokens = args.batch * (args.prompt_tokens + args.new_tokens - 1)
        spans = [{"peer_id": s.peer_id.to_base58(), "start_block": s.start, "end_block": s.end, "tokens": tokens}
                 for s in (routes[-1] if routes else [])]
        body = {"request_id": uuid.uuid4().hex, "model": args.model_name or args.model, "spans": spans}
        line: dict[str, Any] = {"request": body, "seconds": round(seconds, 4)}
        if args.coordinator and spans:
            try:
                line["receipt"] = report_usage(args.coordinator, token, body)
            except (OSError, ValueError, urllib.error.URLError) as exc:
                line["report_error"] = str(exc)
        print(json.dumps(line), flush=True)
        sent += 1
        if args.requests == 0 or sent < args.requests:
            time.sleep(args.interval)
    sys.stdout.flush()
    client.close()
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--model-name", help="the name reported to the coordinator (default: MODEL)")
    parser.add_argument("--initial-peers", nargs="+", required=True)
    parser.add_argument("--dht-prefix")
    parser.add_argument("--coordinator", default="")
    parser.add_argument("--requests", type=int, default=0, help="0 = until stopped")
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--prompt-tokens", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--request-timeout", type=float, default=30.0)
    code = run(parser.parse_args())
    # hivemind's teardown can hang at interpreter exit; everything is reported already
    os._exit(code)


if __name__ == "__main__":
    main()
