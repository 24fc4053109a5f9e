"""Honest served-work counters: tokens and steps per block, counted where Petals' runtime finishes a batch."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from farnode_desktop.mesh.wire import ServedCounts

_KINDS = ("inference", "forward", "backward")


class ServedWork:
    """Running totals of the work this server finished, by block and by kind; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started_at = time.time()
        self.tokens_by_block: dict[int, int] = defaultdict(int)
        self.steps_by_block: dict[int, int] = defaultdict(int)
        self.requests: dict[str, int] = dict.fromkeys(_KINDS, 0)
        self.tokens: dict[str, int] = dict.fromkeys(_KINDS, 0)
        self.failed_batches = 0
        self.last_failure = ""
        self.busy_seconds = 0.0
        self.own_seconds = 0.0  # runtime time spent on this node's own test requests (not served work)
        self._own_tokens: dict[int, int] = {}  # a test request in flight: its tokens per block, not to be counted

    def record(self, kind: str, blocks: list[int], batch: int, seq: int, seconds: float) -> None:
        tokens = batch * seq
        with self._lock:
            own = 0
            if kind == "forward":
                for block in blocks:
                    mine = min(self._own_tokens.get(block, 0), tokens)
                    if mine:
                        self._own_tokens[block] -= mine
                        own = max(own, mine)
            if own:
                self.own_seconds += seconds * own / tokens
            if own >= tokens:
                return  # the node's own test request: not work served to the swarm
            self.requests[kind] += 1
            self.busy_seconds += seconds * (tokens - own) / tokens
            for block in blocks:
                self.tokens_by_block[block] += tokens - own
                self.steps_by_block[block] += 1
                self.tokens[kind] += tokens - own

    def expect_own(self, blocks: list[int], tokens: int) -> None:
        """A test request of `tokens` tokens is about to pass `blocks`: leave it out of the served-work totals."""
        with self._lock:
            self._own_tokens = dict.fromkeys(blocks, tokens)

    def end_own(self) -> None:
        with self._lock:
            self._own_tokens = {}

    def record_failure(self, error: BaseException | None = None) -> None:
        with self._lock:
            self.failed_batches += 1
            if error is not None:
                self.last_failure = f"{type(error).__name__}: {error}"[:300]

    def snapshot(self) -> ServedCounts:
        with self._lock:
            return ServedCounts(
                # A token that passed through k blocks counts k times: that is the work the swarm pays for.
                served_tokens=sum(self.tokens_by_block.values()),
                tokens_by_block={str(b): n for b, n in sorted(self.tokens_by_block.items())},
                steps_by_block={str(b): n for b, n in sorted(self.steps_by_block.items())},
                requests=dict(self.requests),
                tokens_by_kind=dict(self.tokens),
                failed_batches=self.failed_batches,
                last_failure=self.last_failure,
                busy_seconds=round(self.busy_seconds, 6),
                own_check_seconds=round(self.own_seconds, 6),
            )


SERVED = ServedWork()


def _block_of(uid: str) -> int:
    return int(uid.rsplit(".", 1)[1])


def _describe(pool_name: str, batch: tuple[Any, ...]) -> tuple[str, list[int]]:
    """Which kind of work a pool batch is and which blocks it runs through."""
    if pool_name.endswith("_inference"):
        infos = batch[2]  # (hidden_states, hypo_ids, inference_infos, *prompts)
        return "inference", [_block_of(info.uid) for info in infos]
    uid, _, kind = pool_name.rpartition("_")
    return kind, [_block_of(uid)]


def install(work: ServedWork = SERVED) -> None:
    """Wrap Petals' runtime `process_batch` so every finished batch is counted (main server process)."""
    from petals.server.server import RuntimeWithDeduplicatedPools

    original = RuntimeWithDeduplicatedPools.process_batch
    if getattr(original, "_farnode_counted", False):
        return

    def process_batch(self: Any, pool: Any, batch_index: int, *batch: Any) -> Any:
        start = time.perf_counter()
        try:
            result = original(self, pool, batch_index, *batch)
        except BaseException as exc:
            work.record_failure(exc)
            raise
        kind, blocks = _describe(pool.name, batch)
        shape = batch[0].shape
        seq = int(shape[1]) if len(shape) > 2 else 1
        work.record(kind, blocks, int(shape[0]), seq, time.perf_counter() - start)
        return result

    process_batch._farnode_counted = True  # type: ignore[attr-defined]
    RuntimeWithDeduplicatedPools.process_batch = process_batch
