"""The FarMesh gateway: sends inference through the swarm and reports to the coordinator who served which blocks.

`python -m farnode_desktop.mesh.gateway MODEL --initial-peers ADDR --dht-prefix P --coordinator URL
[--peers-file F] [--requests N] [--interval S]`; the gateway's credential comes from the FARNODE_GATEWAY_TOKEN
environment variable. Each request prints one JSON line: the route, the tokens per span, and the coordinator's receipt.

A request that fails ends the client it was sent with: the next one is sent by a new client, bootstrapped from the
swarm's addresses as they are now (`--peers-file`, rewritten by whoever runs the node, else `--initial-peers`).
A Petals client keeps its DHT, its bootstrap addresses and its routes for its whole life, and by default retries a
failed step forever, waiting up to 60 s between tries: a request caught by a node that paused or restarted went on
failing inside Petals ("Broken input cache", "No servers holding blocks ... are online", every 60 s), and a node that
came back at a new address was never found.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

# How a request through a broken route ends: a few quick retries inside Petals (its default is to retry forever,
# waiting up to 60 s between tries), then the gateway starts over with a new client.
MAX_RETRIES = 3
MAX_BACKOFF_S = 5.0
RECONNECT_MAX_S = 10.0  # a client that cannot connect (the node is away) tries again after 1, 2, 4, ... s, at most this
CLOSE_TIMEOUT_S = 10.0  # an old client's teardown (its DHT process and p2pd) is not waited for longer than this


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


def current_peers(args: argparse.Namespace) -> list[str]:
    """The swarm's addresses now: the peers file when it holds a list of addresses, else `--initial-peers`."""
    if args.peers_file:
        try:
            peers = json.loads(Path(args.peers_file).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            peers = None
        if isinstance(peers, list) and peers and all(isinstance(p, str) for p in peers):
            return list(peers)
    return list(args.initial_peers)


def close_soon(client: Any, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
    """End a client's background work without hanging on it (a DHT call to a node that is gone can take long)."""
    closer = threading.Thread(target=client.close, name="farmesh-client-close", daemon=True)
    closer.start()
    closer.join(timeout_s)


class Connection:
    """The gateway's current client, made anew after a failed request."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.client: Any = None
        self.routes: list[list[Any]] = []
        self.failed_connects = 0

    def get(self) -> Any:
        """The client, connecting first if there is none (raises what the connection raised)."""
        if self.client is None:
            from farnode_desktop.mesh.client import FarMeshClient

            args = self.args
            # a stuck step must not stall the gateway: give up on it after request_timeout and go on
            self.client = FarMeshClient.connect(args.model, current_peers(args), dht_prefix=args.dht_prefix,
                                                request_timeout=args.request_timeout, max_retries=MAX_RETRIES,
                                                max_backoff=MAX_BACKOFF_S)
            self.routes = _record_routes(self.client.model)
            self.failed_connects = 0
        return self.client

    def drop(self) -> None:
        if self.client is not None:
            close_soon(self.client)
        self.client = None

    def wait_before_connecting(self) -> float:
        self.failed_connects += 1
        return min(RECONNECT_MAX_S, 2.0 ** (self.failed_connects - 1))


def _say_error(exc: BaseException, **more: Any) -> None:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:500], **more}), flush=True)


def run(args: argparse.Namespace) -> int:
    import torch

    token = os.environ.get("FARNODE_GATEWAY_TOKEN", "")
    connection = Connection(args)
    rng = random.Random(args.seed)
    sent = 0
    while args.requests == 0 or sent < args.requests:
        try:
            client = connection.get()
        except Exception as exc:  # the node is away (paused, restarting, moved): try again soon
            _say_error(exc, reconnect=True)
            connection.drop()
            time.sleep(connection.wait_before_connecting())
            continue
        routes = connection.routes
        vocab = int(client.model.config.vocab_size)
        prompt = [rng.randrange(1, vocab) for _ in range(args.prompt_tokens)]
        ids = torch.tensor([prompt] * args.batch)
        routes.clear()
        started = time.perf_counter()
        try:
            client.generate(ids, max_new_tokens=args.new_tokens, do_sample=False)
        except Exception as exc:  # the swarm changed under this client: say so, start over with a new one
            _say_error(exc)
            connection.drop()
            time.sleep(min(args.interval, 1.0))
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
    connection.drop()
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--model-name", help="the name reported to the coordinator (default: MODEL)")
    parser.add_argument("--initial-peers", nargs="+", required=True)
    parser.add_argument("--peers-file", help="a JSON list of the swarm's addresses, read again at each new client")
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
