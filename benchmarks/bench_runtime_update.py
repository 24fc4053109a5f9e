"""What a node-runtime update costs: the bytes pip must fetch when the new lock changes one small pure-Python wheel
against what a fresh install of the whole lock fetches, the time to prepare the new runtime beside the current one
(hard-link clone, pip, runtime check, and with the real trial node), and the serving downtime of a real supervised
node switched onto it (from the moment it stops serving to serving again on the new runtime).
Run: `FARNODE_RUNTIME_DIR=.farnode-test/runtime .venv/bin/python benchmarks/bench_runtime_update.py`; writes
benchmarks/results/runtime_update.json. Uses a temporary home beside the test runtime (hard links: little disk).
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.events import EventBus  # noqa: E402
from farnode_desktop.core.node.factory import TINY_DEMO, local_spec, make_supervisor  # noqa: E402
from farnode_desktop.core.node.health import WAITING  # noqa: E402
from farnode_desktop.core.node.runtime import NodeRuntime  # noqa: E402
from farnode_desktop.core.node.runtime_versions import RuntimeVersions  # noqa: E402
from farnode_desktop.core.node.status import NodeState  # noqa: E402
from farnode_desktop.core.paths import AppPaths  # noqa: E402
from farnode_desktop.core.updates.runtime_prepare import lock_changes, node_trial, prepare  # noqa: E402
from farnode_desktop.core.updates.runtime_update import RuntimeSwitch  # noqa: E402
from tests.core.updates.runtime_rig import clone_runtime, lock_with, variant_wheel  # noqa: E402

WHEEL_FOLDERS = [Path("/opt/wheels"), Path("/opt/pypi/files"), Path("/opt/pypi-more/files")]


def wheel_sizes(lock_text: str, extra: list[Path]) -> tuple[int, int, list[str]]:
    """(bytes of the locked files found, how many found, the names not found) from the lock's file comments."""
    names = re.findall(r"#\s+(\S+\.(?:whl|tar\.gz|zip))", lock_text)
    index: dict[str, int] = {}
    for folder in [*extra, *WHEEL_FOLDERS]:
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file():
                    index.setdefault(path.name, path.stat().st_size)
    found = [n for n in names if n in index]
    return sum(index[n] for n in found), len(found), [n for n in names if n not in index]


def phase_times(states: list[tuple[float, str, str]], began: float) -> dict[str, float]:
    """Seconds in each state the node went through from the switch on (a state met twice is added up)."""
    phases: dict[str, float] = {}
    marks = [(began, "serving", ""), *states]
    for (at, state, reason), (until, _, _) in itertools.pairwise(marks):
        label = f"{state} (test request)" if reason == WAITING else state
        phases[label] = round(phases.get(label, 0.0) + until - at, 2)
    return phases


def main() -> int:
    source = NodeRuntime(Path(os.environ.get("FARNODE_RUNTIME_DIR", ".farnode-test/runtime")).resolve())
    home = Path(tempfile.mkdtemp(prefix="bench-runtime-update-", dir=source.location.parent))
    os.environ["FARNODE_HOME"] = str(home)
    paths = AppPaths.under(home).ensure()
    location = paths.data / "runtime"
    started = time.monotonic()
    current = clone_runtime(location)
    clone_s = time.monotonic() - started
    lock_name = current.lock.name
    os.environ["FARNODE_RUNTIME_DIR"] = str(location)
    wheels = home / "wheels"
    os.environ["PIP_FIND_LINKS"] = str(wheels)
    wheel = variant_wheel(current, "six", "1.17.0.post1", wheels)
    lock = lock_with(current, "six", wheel)
    changed, _ = lock_changes(current.lock.read_text(), lock.decode())
    fresh_bytes, found, missing = wheel_sizes(lock.decode(), [wheels])
    changed_bytes, _, _ = wheel_sizes("\n".join(f"# {wheel.name}" for _ in changed), [wheels])
    versions = RuntimeVersions(location)

    # a node serving from the current runtime
    spec = local_spec("gpu0", TINY_DEMO, paths, current, new_swarm=True, initial_peers=[])
    bus = EventBus()
    states: list[tuple[float, str, str]] = []  # (monotonic, state, reason): where the downtime goes
    bus.subscribe(lambda e: states.append((time.monotonic(), e.data["state"], e.reason)), "node.state")
    node = make_supervisor(spec, paths, bus, current)
    node.start()
    assert node.wait_until(lambda s: s is NodeState.SERVING, 300) is NodeState.SERVING, node.status().reason

    load_before = round(os.getloadavg()[0], 2)
    t0 = time.monotonic()
    prepared = prepare(versions, lock, None, node_trial(paths))  # the node serves on meanwhile
    prepare_s = time.monotonic() - t0
    still_serving = node.state is NodeState.SERVING

    switch = RuntimeSwitch(versions, prepared.vid, [node], deadline_s=60)
    stopped_at: float | None = None
    served_again: float | None = None
    switch_began = time.monotonic()
    deadline = switch_began + 300
    while time.monotonic() < deadline:
        node.transition(time.monotonic())
        if stopped_at is None and node.state not in (NodeState.SERVING, NodeState.DRAINING):
            stopped_at = time.monotonic()
        switch.tick()
        if switch.done and node.state is NodeState.SERVING:
            served_again = time.monotonic()
            break
        time.sleep(0.1)
    on_new = Path(os.path.realpath(location)) == prepared.folder
    phases = phase_times([s for s in states if s[0] >= switch_began], switch_began)
    node.stop()
    node.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
    node.close()
    result = {
        "machine": f"{platform.node()} ({os.cpu_count()} cores, no GPU)",
        "lock": lock_name,
        "changed_packages": changed,
        "bytes_to_fetch_one_wheel_changed": changed_bytes,
        "bytes_to_fetch_fresh_install": fresh_bytes,
        "fresh_install_files_sized": found,
        "fresh_install_files_not_found_locally": len(missing),  # small ones: the sum is a lower bound
        "clone_current_runtime_s": round(clone_s, 2),
        "prepare_s_with_trial_node": round(prepare_s, 1),
        "node_served_while_preparing": still_serving,
        "serving_downtime_s": round(served_again - stopped_at, 1) if served_again and stopped_at else None,
        "switch_total_s_incl_drain": round(served_again - switch_began, 1) if served_again else None,
        "node_on_new_runtime": on_new,
        "downtime_phases_s": phases,
        "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
        "command": "FARNODE_RUNTIME_DIR=.farnode-test/runtime .venv/bin/python benchmarks/bench_runtime_update.py",
    }
    out = REPO / "benchmarks" / "results" / "runtime_update.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    import shutil

    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
