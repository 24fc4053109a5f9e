"""Served-work counting on Petals' real runtime class and real tensors: tokens = batch x seq per block per kind; the
node's own test request and failed batches kept apart."""

from __future__ import annotations

import pytest

from tests.runtime_env import RUNTIME_ABSENT, run_in_runtime, runtime_python

pytestmark = [pytest.mark.runtime,
              pytest.mark.skipif(not runtime_python().exists(), reason=RUNTIME_ABSENT)]

SCRIPT = r"""
import json
import torch
import petals
from petals.data_structures import InferenceMetadata
from petals.server.server import RuntimeWithDeduplicatedPools
from petals.server.task_pool import PrioritizedTaskPool
from farnode_desktop.mesh import counters

work = counters.ServedWork()
counters.install(work)
counters.install(work)  # a second install must not count twice
run = RuntimeWithDeduplicatedPools.process_batch
double = lambda hidden, *rest: (hidden * 2,)
def fail(*batch):
    raise RuntimeError("out of memory on block 5")
inference = PrioritizedTaskPool(double, 8, name="m-hf.3_inference")
forward = PrioritizedTaskPool(double, 8, name="m-hf.5_forward")
backward = PrioritizedTaskPool(double, 8, name="m-hf.5_backward")
broken = PrioritizedTaskPool(fail, 8, name="m-hf.6_forward")
out = {}
infos = tuple(InferenceMetadata(f"m-hf.{b}", 0, (), None) for b in (3, 4))
outputs, size = run(None, inference, 0, torch.ones(2, 3, 8), torch.arange(2), infos)
out["result"] = [outputs[0].sum().item(), size]
run(None, forward, 1, torch.ones(2, 4, 8))
run(None, backward, 2, torch.ones(1, 7, 8), torch.ones(1, 7, 8))
run(None, inference, 3, torch.ones(3, 8), torch.arange(3), infos[:1])  # 2-D: one token per sequence
work.expect_own([5], 8)
run(None, forward, 4, torch.ones(2, 4, 8))  # the node's own test request: not served work
work.end_own()
try:
    run(None, broken, 5, torch.ones(1, 1, 8))
except RuntimeError as exc:
    out["raised"] = str(exc)
out["snapshot"] = work.snapshot().to_json()
out["own_seconds"] = work.own_seconds
print(json.dumps(out))
"""


def test_every_finished_batch_counts_batch_times_seq_tokens_per_block() -> None:
    out = run_in_runtime(SCRIPT)
    assert out["result"] == [2 * 2 * 3 * 8, 2]  # Petals' own result passes through unchanged
    assert out["raised"] == "out of memory on block 5"  # a failed batch still fails
    snap = out["snapshot"]
    # inference 2x3 through blocks 3 and 4, then 3x1 through block 3; forward 2x4 and backward 1x7 on block 5
    assert snap["tokens_by_block"] == {"3": 6 + 3, "4": 6, "5": 8 + 7}
    assert snap["steps_by_block"] == {"3": 2, "4": 1, "5": 2}
    assert snap["tokens_by_kind"] == {"inference": 12 + 3, "forward": 8, "backward": 7}
    assert snap["requests"] == {"inference": 2, "forward": 1, "backward": 1}
    assert snap["served_tokens"] == 30  # a token through k blocks counts k times
    assert snap["failed_batches"] == 1 and snap["last_failure"] == "RuntimeError: out of memory on block 5"
    assert out["own_seconds"] > 0 and snap["busy_seconds"] > 0
