"""The games-first controller against supervisors: pause/resume with reasons, events, and the VRAM check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.gpus.nvml import GIB, GpuReader
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.pausing.games_first import GamesFirst, Pausable
from farnode_desktop.core.pausing.signals.choose import PcSignals
from farnode_desktop.core.pausing.signals.reader import Reader
from farnode_desktop.core.settings import PauseRules, Settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"
NODE_PID = 4242
ELDEN = r"C:\Games\ELDEN RING\Game\eldenring.exe"


class FakeSupervisor:
    """Implements the Pausable protocol and the part of NodeStatus games-first reads."""

    def __init__(self, pid: int | None = NODE_PID) -> None:
        self.pid = pid
        self.calls: list[tuple[str, str]] = []

    def pause(self, reason: str) -> None:
        self.calls.append(("pause", reason))

    def resume(self, reason: str) -> None:
        self.calls.append(("resume", reason))

    def status(self) -> Any:
        paused = bool(self.calls) and self.calls[-1][0] == "pause"
        return SimpleNamespace(pid=None if paused else self.pid, tokens_per_s=150.0)


class Fixed(Reader[Any]):
    """A signal reader that answers what the test sets (the real readers have their own tests)."""

    kind = "test-fixed"

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self) -> Any:
        return self.value


def rig(fixture: str = "linux_rtx4090", gpus: int = 1, settings: Settings | None = None, steam: int | None = None,
        fullscreen: str | None = None, **kw: Any) -> Any:
    nv = FakeNvml.from_file(FIXTURES / f"{fixture}.json")
    for i in range(gpus):  # each node serving: 20 GiB held (its compute process), GPU busy
        nv.set_process(i, "compute", NODE_PID + i, "/opt/farnode/runtime/bin/python3.11", 20 * GIB)
        mem = nv.gpu(i)["memory"]
        mem["used"] += 20 * GIB if mem["total"] > 21 * GIB else 0
        mem["free"] = mem["total"] - mem["used"]
        nv.gpu(i)["utilization"]["gpu"] = 96
    reader = GpuReader(nv)
    bus, log = EventBus(), EventLog()
    bus.subscribe(log, "gpu.")
    clock = ManualClock(wall_start=dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC).timestamp())
    sups = {i: FakeSupervisor(NODE_PID + i) for i in range(gpus)}
    supervisors: dict[int, Pausable] = dict(sups)
    gf = GamesFirst(
        bus,
        clock,
        lambda: settings or Settings(),
        reader.inventory,
        lambda: supervisors,
        signals=PcSignals(Fixed(None), Fixed(steam), Fixed(fullscreen), Fixed(frozenset())),
        own_pids=lambda pid: frozenset({pid}) if pid else frozenset(),
        tz=dt.UTC,
        verify_timeout_s=30,
        **kw,
    )
    return SimpleNamespace(nv=nv, gf=gf, log=log, clock=clock, sups=sups)


def node_stopped(nv: FakeNvml, index: int = 0, pid: int = NODE_PID) -> None:
    nv.remove_process(index, pid)
    mem = nv.gpu(index)["memory"]
    mem["used"] -= 20 * GIB
    mem["free"] = mem["total"] - mem["used"]


def test_game_pauses_the_node_with_the_reason_then_vram_is_confirmed_free() -> None:
    r = rig()
    r.gf.tick()
    r.nv.set_process(0, "graphics", 9001, ELDEN, 6 * GIB)
    r.gf.tick()
    assert r.sups[0].calls == []  # hysteresis: not yet
    r.clock.advance(5)
    decisions = r.gf.tick()
    assert decisions[0].paused
    assert r.sups[0].calls == [("pause", "Game detected: eldenring.exe is using GPU 0")]
    paused = [e for e in r.log.events if e.topic == "gpu.paused"]
    assert [(e.source, e.reason, e.data["code"]) for e in paused] == [
        ("gpu0", "Game detected: eldenring.exe is using GPU 0", "game")
    ]
    r.clock.advance(2)
    r.gf.tick()
    assert "gpu.vram_freed" not in r.log.topics()  # the node still holds its memory
    node_stopped(r.nv)
    r.clock.advance(2)
    r.gf.tick()
    freed = [e for e in r.log.events if e.topic == "gpu.vram_freed"]
    assert len(freed) == 1 and freed[0].reason.startswith("GPU 0: ") and "free again" in freed[0].reason


def test_vram_not_freed_in_time_is_reported_with_the_process() -> None:
    r = rig(settings=Settings(pause=PauseRules(programs=["obs64.exe"])))
    r.gf.signals.programs.value = frozenset({"obs64.exe"})
    r.gf.tick()
    assert r.sups[0].calls == [("pause", "obs64.exe is running (on your pause list)")]
    r.clock.advance(31)
    r.gf.tick()
    (event,) = [e for e in r.log.events if e.topic == "gpu.vram_not_freed"]
    assert event.reason == "GPU 0: FarNode's node process 4242 still holds 20.0 GiB 30 s after pausing"
    assert event.data["pids"] == [NODE_PID]
    assert event.data["hint"]


def test_resume_after_the_game_ends_emits_gpu_resumed() -> None:
    r = rig(pause_after_s=0, resume_after_s=60)
    r.nv.set_process(0, "graphics", 9001, ELDEN, 6 * GIB)
    r.gf.tick()
    node_stopped(r.nv)
    r.nv.remove_process(0, 9001)
    r.clock.advance(1)
    r.gf.tick()
    r.clock.advance(59)
    r.gf.tick()
    assert r.sups[0].calls[-1][0] == "pause"
    r.clock.advance(1)
    r.gf.tick()
    assert r.sups[0].calls[-1] == (
        "resume",
        "Game or program ended (was: Game detected: eldenring.exe is using GPU 0)",
    )
    assert r.log.topics().count("gpu.resumed") == 1


def test_snooze_every_gpu_then_end_it() -> None:
    r = rig("linux_rtx4090_rtx3060", gpus=2)
    r.gf.snooze("30 min")
    r.gf.tick()
    assert [s.calls for s in r.sups.values()] == [[("pause", "Snoozed until 10:30")]] * 2
    r.gf.end_snooze()
    r.gf.tick()
    assert all(s.calls[-1] == ("resume", "Snooze ended (was: Snoozed until 10:30)") for s in r.sups.values())


def test_snooze_one_gpu_leaves_the_other_serving() -> None:
    r = rig("linux_rtx4090_rtx3060", gpus=2)
    r.gf.snooze("until restart", gpu=1)
    r.gf.tick()
    assert r.sups[0].calls == []
    assert r.sups[1].calls == [("pause", "Snoozed until FarNode restarts")]
    (event,) = [e for e in r.log.events if e.topic == "gpu.paused"]
    assert event.source == "gpu1"


def test_a_lost_gpu_is_skipped_and_the_other_is_still_watched() -> None:
    r = rig("linux_rtx4090_rtx3060", gpus=2, steam=1245620)
    r.nv.lose(0)
    decisions = r.gf.tick()
    assert list(decisions) == [1]
    assert r.sups[0].calls == []
    assert r.sups[1].calls == [("pause", "Steam game running (app 1245620)")]


def test_no_telemetry_yet_changes_nothing() -> None:
    r = rig()
    r.gf._telemetry = lambda: None
    assert r.gf.tick() == {}


def test_a_supervisor_whose_status_fails_does_not_stop_games_first() -> None:
    r = rig(steam=570)

    def broken() -> Any:
        raise RuntimeError("status endpoint gone")

    r.sups[0].status = broken
    r.gf.tick()
    assert r.sups[0].calls == [("pause", "Steam game running (app 570)")]




def test_a_full_screen_app_in_front_pauses_at_once_and_resumes_only_after_it_stays_gone() -> None:
    r = rig(fullscreen="SuperTuxKart", resume_after_s=60)
    r.gf.tick()
    assert r.sups[0].calls == [("pause", "SuperTuxKart is full screen in front")]
    r.gf.signals.fullscreen.value = None  # alt-tab out, or the game ended
    r.gf.tick()
    r.clock.advance(30)
    r.gf.tick()
    assert len(r.sups[0].calls) == 1  # an alt-tab is not the end of the game
    r.clock.advance(31)
    r.gf.tick()
    assert r.sups[0].calls[-1][0] == "resume"
    off = rig(fullscreen="SuperTuxKart", settings=Settings(pause=PauseRules(detect_games=False)))
    off.gf.tick()
    assert off.sups[0].calls == []  # the provider turned game detection off


def test_the_idle_reading_reaches_the_rule_only_when_the_provider_asks_for_it() -> None:
    busy = rig(settings=Settings(pause=PauseRules(only_when_idle=True, idle_minutes=10)))
    busy.gf.signals.idle.value = 30.0  # the provider touched the mouse 30 s ago
    busy.gf.tick()
    assert busy.sups[0].calls == [("pause", "You are using the PC; serving starts after 10 min idle")]
    unknown = rig(settings=Settings(pause=PauseRules(only_when_idle=True, idle_minutes=10)))
    unknown.gf.tick()  # idle None: unknown is not "in use" (the Settings window says the rule cannot work)
    assert unknown.sups[0].calls == []


def test_games_first_reads_the_readers_it_was_given() -> None:
    r = rig(steam=0, fullscreen=None)
    slots = r.gf.readers()
    assert set(slots) == {"idle", "steam", "fullscreen", "programs"}
    assert slots["steam"] is r.gf.signals.steam and slots["steam"]() == 0
