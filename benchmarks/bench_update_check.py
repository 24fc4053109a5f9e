"""What the background update check costs a provider's PC while idle: one check against a repository that has
nothing new (the every-4-hours case) and the first check that installs a release, each measured in the app's process
as CPU seconds, wall time, bytes downloaded and Python memory at peak; plus the cost of the tick that decides a check
is not yet due. The repository is real (scripts' builder), served by `python -m http.server` in another process on
loopback, so the server's CPU is not counted.
Run: `.venv/bin/python benchmarks/bench_update_check.py [--checks 20]`; writes benchmarks/results/update_check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.events import EventBus  # noqa: E402
from farnode_desktop.core.paths import AppPaths  # noqa: E402
from farnode_desktop.core.updates.background import UpdateWatch  # noqa: E402
from farnode_desktop.core.updates.channel import set_override  # noqa: E402
from farnode_desktop.core.updates.client import CheckResult, UpdateClient  # noqa: E402
from farnode_desktop.core.updates.fetcher import BoundedFetcher  # noqa: E402
from farnode_desktop.devnet.update_repo import MODEL_CATALOG, NETWORK_MANIFEST, UpdateRepository  # noqa: E402


class CountingFetcher(BoundedFetcher):
    """The real fetcher, counting what it downloads."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0
        self.requests = 0

    def _fetch(self, url: str) -> Iterator[bytes]:
        self.requests += 1
        for chunk in super()._fetch(url):
            self.bytes += len(chunk)
            yield chunk


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(paths: AppPaths) -> dict[str, Any]:
    fetcher = CountingFetcher()
    tracemalloc.start()
    cpu, wall = time.process_time(), time.perf_counter()
    result = UpdateClient(paths, fetcher=fetcher).check()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.ok, result.message
    return {"cpu_s": cpu, "wall_s": wall, "bytes": fetcher.bytes, "requests": fetcher.requests,
            "python_peak_kib": peak / 1024, "installed": result.installed}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = UpdateRepository(base / "repo", base / "keys")
        repo.init()
        repo.publish({NETWORK_MANIFEST: (REPO / "resources" / "network" / "manifest.json").read_bytes(),
                      MODEL_CATALOG: (REPO / "resources" / "models.json").read_bytes()})
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                   "--directory", str(repo.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            paths = AppPaths.under(base / "home").ensure()
            set_override(paths, f"http://127.0.0.1:{port}", repo.root_bytes(1))
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            first = measure(paths)
            idle = [measure(paths) for _ in range(args.checks)]
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        finally:
            server.terminate()
            server.wait(10)
    assert all(not m["installed"] for m in idle)
    watch = UpdateWatch(lambda: CheckResult(True, "", 0.0), EventBus())
    watch.tick(0.0)
    watch.join(5)
    n = 100_000
    start = time.perf_counter()
    for i in range(n):
        watch.tick(1.0 + i * 1e-6)  # never due: what every app tick pays
    tick_ns = (time.perf_counter() - start) / n * 1e9

    def summary(key: str) -> dict[str, float]:
        values = sorted(m[key] for m in idle)
        return {"median": statistics.median(values), "max": values[-1]}

    cpu = summary("cpu_s")
    figures = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_1m": os.getloadavg()[0]},
        "period_h": watch.period_s / 3600,
        "first_check_installing_release": {k: first[k] for k in ("cpu_s", "wall_s", "bytes", "requests",
                                                                 "python_peak_kib")},
        "idle_check_nothing_new": {"checks": len(idle), "cpu_s": cpu, "wall_s": summary("wall_s"),
                                   "bytes": summary("bytes"), "requests": summary("requests"),
                                   "python_peak_kib": summary("python_peak_kib")},
        "idle_cpu_s_per_day": cpu["median"] * 24 / (watch.period_s / 3600),
        "process_max_rss_growth_kib": rss_after - rss_before,
        "not_due_tick_ns": tick_ns,
    }
    out = REPO / "benchmarks" / "results" / "update_check.json"
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
