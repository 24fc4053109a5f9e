"""Game starts -> node out of the way: the time from a stand-in game starting until the node's whole process group
is gone, and from the game ending until the node serves again, with the real supervisor and a real node.

The node is the tiny demo model served by the real node runtime on CPU (no GPU here), launched and stopped by the
app's own NodeSupervisor with the app's default policy (graceful SIGINT first, as a pause does in the app). Games
first is the app's GamesFirst with the app's real readers, ticked at the app's cadence (the heartbeat every 0.5 s,
games first every AppCore.GAMES_FIRST_PERIOD_S). The GPU readings come from a recorded NVML snapshot (no GPU here),
so the GPU check (memory confirmed free) is not part of these figures. Each round starts one stand-in game, in turn:
  program     a real process named on the provider's pause list (a copy of `sleep` called `standin-game`),
  fullscreen  a real full-screen window in front on a real X server (Xvfb + openbox; the X11 reader),
  steam       Steam's registry.vdf saying a game runs (the Linux Steam reader; the file Steam rewrites).
Measured per round: start -> games first decides (the node leaves SERVING), start -> the node's process group is
empty (polled every 50 ms), game end -> SERVING again (includes the app's deliberate 60 s "game stays gone" delay;
the relaunch part is also reported on its own).
Run: `.venv/bin/python benchmarks/bench_games_first.py [--rounds 20] [--resume-after-s 60]`; writes
benchmarks/results/games_first.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.core.app_core import GAMES_FIRST_PERIOD_S  # noqa: E402
from farnode_desktop.core.clock import SystemClock  # noqa: E402
from farnode_desktop.core.events import Event, EventBus  # noqa: E402
from farnode_desktop.core.gpus.nvml import GpuReader  # noqa: E402
from farnode_desktop.core.gpus.nvml_fake import FakeNvml  # noqa: E402
from farnode_desktop.core.node.factory import dht_prefix_for, ensure_tiny_model, make_supervisor  # noqa: E402
from farnode_desktop.core.node.host import OsProcessHost  # noqa: E402
from farnode_desktop.core.node.spec import NodeSpec  # noqa: E402
from farnode_desktop.core.node.status import NodeState  # noqa: E402
from farnode_desktop.core.paths import AppPaths  # noqa: E402
from farnode_desktop.core.pausing.games_first import GamesFirst, process_tree  # noqa: E402
from farnode_desktop.core.pausing.signals.choose import PcSignals  # noqa: E402
from farnode_desktop.core.pausing.signals.processes import RunningPrograms  # noqa: E402
from farnode_desktop.core.pausing.signals.steam_vdf import SteamVdf  # noqa: E402
from farnode_desktop.core.pausing.signals.x11 import X11Display, X11Fullscreen  # noqa: E402
from farnode_desktop.core.settings import PauseRules, Settings  # noqa: E402
from tests.core.pausing.signals.xdesktop import XDesktop, have_tools, x_desktop  # noqa: E402
from tests.runtime_env import ensure_runtime  # noqa: E402

TICK_S = 0.5  # the UI heartbeat ticks AppCore every 500 ms
GAME = "standin-game"
NVML = REPO / "tests" / "fixtures" / "nvml" / "linux_rtx4090.json"
STEAM = REPO / "tests" / "fixtures" / "steam"
KINDS = ("program", "fullscreen", "steam")


class App:
    """The app's loop around one real node: supervisor ticks every 0.5 s, games first as often as AppCore's."""

    def __init__(self, home: Path, desk: XDesktop, resume_after_s: float) -> None:
        runtime = ensure_runtime()
        paths = AppPaths.under(home / "app").ensure()
        model = ensure_tiny_model(paths, runtime)
        spec = NodeSpec(name="bench", model=str(model), dht_prefix=dht_prefix_for(str(model)), new_swarm=True,
                        listen_host="127.0.0.1", device="cpu", num_blocks=4, torch_dtype="float32",
                        throughput="1.0", num_handlers=2)
        self.bus = EventBus()
        self.sup = make_supervisor(spec, paths, self.bus, runtime)  # the app's default policy
        self.settings = Settings(pause=PauseRules(programs=[GAME]))
        signals = PcSignals(steam=SteamVdf(home), fullscreen=X11Fullscreen(X11Display(desk.display)),
                            programs=RunningPrograms())
        reader = GpuReader(FakeNvml.from_file(NVML))
        self.gf = GamesFirst(self.bus, SystemClock(), lambda: self.settings, reader.inventory, lambda: {0: self.sup},
                             signals=signals, own_pids=process_tree, resume_after_s=resume_after_s)
        self.states: list[tuple[float, NodeState]] = []
        self.bus.subscribe(self._state, "node.state")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _state(self, event: Event) -> None:
        self.states.append((time.monotonic(), NodeState(event.data["state"])))

    def _loop(self) -> None:
        last_gf = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            self.sup.transition(now)
            if now - last_gf >= GAMES_FIRST_PERIOD_S:
                last_gf = now
                self.gf.tick()
            self._stop.wait(TICK_S)

    def start(self) -> None:
        self.sup.start()
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sup.stop()
        self.sup.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
        self.sup.close()

    def wait_for(self, state: NodeState, since: float, timeout_s: float) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for at, seen in list(self.states):
                if at >= since and seen is state:
                    return at
            time.sleep(0.02)
        raise RuntimeError(f"the node did not reach {state.value} in {timeout_s:.0f} s")


@contextlib.contextmanager
def stand_in(kind: str, home: Path, desk: XDesktop, tmp: Path) -> Iterator[None]:
    if kind == "program":
        exe = tmp / GAME
        if not exe.exists():
            shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
        import subprocess

        proc = subprocess.Popen([str(exe), "3600"])
        try:
            yield
        finally:
            proc.kill()
            proc.wait()
    elif kind == "fullscreen":
        with desk.window("StandInGame", fullscreen=True):
            yield
    else:
        vdf = home / ".steam" / "registry.vdf"
        vdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STEAM / "registry_playing.vdf", vdf)
        try:
            yield
        finally:
            shutil.copy(STEAM / "registry_idle.vdf", vdf)


def group_gone_after(pgid: int, since: float, timeout_s: float = 120.0) -> float:
    host = OsProcessHost()
    deadline = since + timeout_s
    while time.monotonic() < deadline:
        if not host.group_members(pgid):
            return time.monotonic() - since
        time.sleep(0.05)
    raise RuntimeError(f"the node's process group {pgid} was still there after {timeout_s:.0f} s")


def one_round(app: App, kind: str, home: Path, desk: XDesktop, tmp: Path, resume_after_s: float) -> dict[str, Any]:
    if app.sup.status().state is not NodeState.SERVING:
        app.wait_for(NodeState.SERVING, 0.0, 300)
    pgid = app.sup.server_pid
    assert pgid is not None
    started = time.monotonic()
    with stand_in(kind, home, desk, tmp):
        gone_s = group_gone_after(pgid, started)
        decided = app.wait_for(NodeState.STOPPING, started, 10)
        app.wait_for(NodeState.PAUSED, started, 60)
        reason = app.sup.status().reason
    ended = time.monotonic()
    launched = app.wait_for(NodeState.STARTING, ended, resume_after_s + 30)
    serving = app.wait_for(NodeState.SERVING, ended, resume_after_s + 300)
    return {"kind": kind, "reason": reason, "decided_s": round(decided - started, 2), "group_gone_s": round(gone_s, 2),
            "resume_s": round(serving - ended, 2), "relaunch_s": round(serving - launched, 2)}


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank: the 19th of 20
    return {"median": round(statistics.median(ordered), 2), "p95": round(p95, 2), "max": round(ordered[-1], 2),
            "min": round(ordered[0], 2)}


def main(argv: list[str] | None = None, progress: Callable[[str], None] = print) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--resume-after-s", type=float, default=60.0, help="the app's delay (default 60 s)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "games_first.json")
    args = parser.parse_args(argv)
    missing = have_tools()
    if missing:
        raise SystemExit(f"cannot run: {missing}")
    with tempfile.TemporaryDirectory(prefix="farnode-bench-gf-") as tmp_name, x_desktop() as desk:
        tmp = Path(tmp_name)
        home = tmp / "home"
        app = App(home, desk, args.resume_after_s)
        app.start()
        rounds: list[dict[str, Any]] = []
        try:
            for i in range(args.rounds):
                kind = KINDS[i % len(KINDS)]
                result = one_round(app, kind, home, desk, tmp, args.resume_after_s)
                rounds.append(result)
                progress(f"round {i + 1}/{args.rounds}: {json.dumps(result)}")
        finally:
            app.close()
    report: dict[str, Any] = {
        "rounds": len(rounds),
        "resume_after_s": args.resume_after_s,
        "node": "tiny demo model on CPU, real node runtime, real NodeSupervisor (default policy: SIGINT first)",
        "gpu_readings": "recorded NVML snapshot (no GPU here): GPU memory confirmed free is not measured",
        "cadence": f"heartbeat {TICK_S} s, games first every {GAMES_FIRST_PERIOD_S} s (as AppCore)",
        "group_gone_s": summary([r["group_gone_s"] for r in rounds]),
        "decided_s": summary([r["decided_s"] for r in rounds]),
        "stop_s": summary([round(r["group_gone_s"] - r["decided_s"], 2) for r in rounds]),
        "resume_s": summary([r["resume_s"] for r in rounds]),
        "relaunch_s": summary([r["relaunch_s"] for r in rounds]),
        "under_5_s": sum(1 for r in rounds if r["group_gone_s"] < 5.0),
        "by_kind": {k: summary([r["group_gone_s"] for r in rounds if r["kind"] == k])
                    for k in KINDS if any(r["kind"] == k for r in rounds)},
        "per_round": rounds,
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    progress(json.dumps({k: v for k, v in report.items() if k != "per_round"}))
    return report


if __name__ == "__main__":
    main()
