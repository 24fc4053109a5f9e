"""A longer fault campaign than the suite's: N rounds of a random SIGKILL / SIGSTOP of one process of a supervised
node's group (server, DHT process, request handler, p2pd), a real client after each round; reports recoveries, time
to notice, time to serve again (median, max) and orphans.
Run: `FARNODE_RUNTIME_DIR=... .venv/bin/python benchmarks/bench_node_faults.py [--rounds 100]`;
writes benchmarks/results/node_faults.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.events import EventBus  # noqa: E402
from farnode_desktop.core.node.factory import ensure_tiny_model, make_supervisor  # noqa: E402
from farnode_desktop.core.node.status import NodeState  # noqa: E402
from farnode_desktop.core.paths import AppPaths  # noqa: E402
from tests.integration.test_node_faults import CAMPAIGN_POLICY, run_campaign  # noqa: E402
from tests.integration.test_node_supervised import group_pids, tiny_spec  # noqa: E402
from tests.runtime_env import ensure_runtime  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    runtime = ensure_runtime()
    with tempfile.TemporaryDirectory() as home:
        os.environ["FARNODE_HOME"] = home
        paths = AppPaths.default()
        model = ensure_tiny_model(paths, runtime)
        sup = make_supervisor(tiny_spec(model), paths, EventBus(), runtime, policy=CAMPAIGN_POLICY)
        sup.start()
        assert sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180) is NodeState.SERVING
        report: list[dict[str, object]] = []
        failures: list[str] = []
        pgids: set[int] = set()
        for number in range(args.rounds):
            try:
                pgids |= run_campaign(sup, runtime, model, rounds=1, seed=args.seed * 1000 + number, report=report)
            except AssertionError as exc:
                failures.append(f"round {number}: {exc}"[:300])
                sup.start()
                sup.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED), 180)
        sup.stop()
        sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
        orphans = sum(len(group_pids(pgid)) for pgid in pgids)
    noticed = [float(str(r["noticed_s"])) for r in report]
    back = [float(str(r["serving_again_s"])) for r in report]
    result = {
        "rounds": args.rounds, "recovered": len(report), "failures": failures, "orphans": orphans,
        "noticed_s": {"median": statistics.median(noticed), "max": max(noticed)} if noticed else None,
        "serving_again_s": {"median": statistics.median(back), "max": max(back)} if back else None,
        "by_kind": {k: sum(1 for r in report if r["kind"] == k) for k in sorted({str(r["kind"]) for r in report})},
    }
    out = REPO / "benchmarks" / "results" / "node_faults.json"
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
