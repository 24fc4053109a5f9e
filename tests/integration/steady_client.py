"""A client that keeps sending inference sessions through the swarm, for the runtime-switch test: two threads, one
with long sessions (one token a step, a pause between steps) and one with short ones, each with its own client. A
session runs on one route with no retry on another server (max_retries=1), so a failure is never hidden, and no
server is banned after a failure (ban_timeout=0: Petals' ban doubles with each failure). One JSON line per event on
stdout: {"thread", "session", "event": "started" (its first step was served) | "completed" | "failed", "steps", ...}.
Runs in the node runtime's Python until the stop file exists."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_print = threading.Lock()


def emit(**fields: Any) -> None:
    with _print:
        print("STEADY " + json.dumps({"at": time.time(), **fields}), flush=True)


def loop(connect: Callable[[], Any], name: str, steps: int, pause: float, stop: Path) -> None:
    """Sessions one after another; after a failure the client is dropped and the next session is sent by a new
    one, bootstrapped again from the swarm's address (as the gateway does: a Petals client keeps its DHT's view
    for its whole life, and a node that restarted is not found again by a client whose DHT knew only it)."""
    import torch

    prompt = torch.tensor([[1, 2, 3, 4, 5]])
    number = 0
    client: Any = None
    while not stop.exists():
        number += 1
        served = 0
        try:
            client = client or connect()
            model = client.model
            with model.inference_session(max_length=prompt.shape[1] + steps) as session:
                out = None
                for step in range(steps):
                    out = model.generate(prompt if step == 0 else None, max_new_tokens=1, session=session,
                                         do_sample=False)
                    served += 1
                    if step == 0:
                        emit(thread=name, session=number, event="started")
                    time.sleep(pause)
            assert out is not None
            emit(thread=name, session=number, event="completed", steps=served, tokens=out[0].tolist())
        except Exception as exc:
            emit(thread=name, session=number, event="failed", steps=served, error=f"{type(exc).__name__}: {exc}"[:600])
            if client is not None:
                threading.Thread(target=client.close, daemon=True).start()
            client = None
            time.sleep(0.5)
    if client is not None:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--initial-peers", nargs="+", required=True)
    parser.add_argument("--dht-prefix", required=True)
    parser.add_argument("--stop-file", type=Path, required=True)
    args = parser.parse_args()
    from farnode_desktop.mesh.client import FarMeshClient

    def connect() -> Any:
        return FarMeshClient.connect(args.model, args.initial_peers, dht_prefix=args.dht_prefix, max_retries=1,
                                     update_period=1.0, ban_timeout=0.0)

    threads = [threading.Thread(target=loop, args=(connect, "long", 24, 0.25, args.stop_file)),
               threading.Thread(target=loop, args=(connect, "short", 3, 0.05, args.stop_file))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    emit(event="stopped")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
