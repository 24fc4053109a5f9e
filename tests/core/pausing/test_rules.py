"""Games first: the pause policy's rules and hysteresis, snoozes, schedules, and what a pause costs."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.gpus.nvml import GIB, MIB, GpuInfo, GpuProcess, read_inventory
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.pausing.rules import (
    PauseInputs,
    PausePolicy,
    Snooze,
    parse_schedule,
    pause_cost,
)
from farnode_desktop.core.settings import PauseRules

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"
UTC = dt.UTC
WED_10 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday
NODE_PID = 4242
ELDEN = "/home/ana/.steam/steam/steamapps/common/ELDEN RING/Game/eldenring.exe"


def gpu(name: str = "linux_rtx4090") -> GpuInfo:
    return read_inventory(FakeNvml.from_file(FIXTURES / f"{name}.json")).gpus[0]


def serving(g: GpuInfo, util: int = 95) -> GpuInfo:
    """The node itself serving on the card: 20 GiB held and the GPU busy."""
    node = GpuProcess(NODE_PID, "/opt/farnode/runtime/bin/python3.11", "compute", 20 * GIB)
    return replace(g, processes=(*g.processes, node), utilization_pct=util)


def with_game(g: GpuInfo, name: str = ELDEN, used: int | None = 6 * GIB) -> GpuInfo:
    return replace(g, processes=(*g.processes, GpuProcess(9001, name, "graphics", used)))


def inputs(g: GpuInfo | None, **kw: object) -> PauseInputs:
    return PauseInputs(g, frozenset({NODE_PID}), **kw)  # type: ignore[arg-type]


def at(seconds: float) -> dt.datetime:
    return WED_10 + dt.timedelta(seconds=seconds)


RULES = PauseRules()


def test_the_node_serving_alone_is_not_a_game() -> None:
    policy = PausePolicy(0)
    for t in range(0, 120, 5):
        assert not policy.decide(at(t), inputs(serving(gpu())), RULES, None).paused


def test_a_game_pauses_after_the_hysteresis_and_says_which() -> None:
    policy = PausePolicy(0, pause_after_s=5)
    g = with_game(serving(gpu()))
    assert not policy.decide(at(0), inputs(g), RULES, None).paused
    assert not policy.decide(at(3), inputs(g), RULES, None).paused
    d = policy.decide(at(5), inputs(g), RULES, None)
    assert d.paused and d.code == "game"
    assert d.reason == "Game detected: eldenring.exe is using GPU 0"


def test_a_brief_blip_does_not_pause() -> None:
    policy = PausePolicy(0, pause_after_s=5)
    game, quiet = with_game(serving(gpu())), serving(gpu())
    assert not policy.decide(at(0), inputs(game), RULES, None).paused
    assert not policy.decide(at(2), inputs(quiet), RULES, None).paused
    assert not policy.decide(at(4), inputs(game), RULES, None).paused
    assert not policy.decide(at(8), inputs(game), RULES, None).paused  # the clock restarted at 4
    assert policy.decide(at(9), inputs(game), RULES, None).paused


def test_resume_waits_until_the_game_has_been_gone_a_while() -> None:
    policy = PausePolicy(0, pause_after_s=0, resume_after_s=60)
    playing = replace(with_game(gpu()), utilization_pct=97)
    assert policy.decide(at(0), inputs(playing), RULES, None).paused
    quiet = gpu()
    assert policy.decide(at(10), inputs(quiet), RULES, None).paused
    in_menu = with_game(gpu())  # the game is back, idling in its menu at 2% GPU use: still a game
    assert policy.decide(at(30), inputs(in_menu), RULES, None).paused  # and the resume clock restarts
    assert policy.decide(at(40), inputs(quiet), RULES, None).paused
    assert policy.decide(at(99), inputs(quiet), RULES, None).paused
    d = policy.decide(at(100), inputs(quiet), RULES, None)
    assert not d.paused
    assert d.reason == "Game or program ended (was: Game detected: eldenring.exe is using GPU 0)"


def test_a_small_window_is_not_a_game() -> None:
    policy = PausePolicy(0, pause_after_s=0)
    g = with_game(serving(gpu()), "/usr/bin/gnome-calculator", 40 * MIB)
    assert not policy.decide(at(0), inputs(g), RULES, None).paused


def test_windows_wddm_desktop_programs_with_a_busy_gpu_are_not_games() -> None:
    policy = PausePolicy(0, pause_after_s=0)
    busy = replace(gpu("windows_rtx3080_wddm"), utilization_pct=90)
    assert not policy.decide(at(0), inputs(busy), RULES, None).paused


def test_windows_wddm_game_without_memory_figures_is_found_by_gpu_use() -> None:
    policy = PausePolicy(0, pause_after_s=0)
    game = r"C:\Program Files (x86)\Steam\steamapps\common\ELDEN RING\Game\eldenring.exe"
    idle = with_game(replace(gpu("windows_rtx3080_wddm"), utilization_pct=3), game, None)
    assert not policy.decide(at(0), inputs(idle), RULES, None).paused  # launcher open, GPU idle
    busy = replace(idle, utilization_pct=97)
    d = policy.decide(at(1), inputs(busy), RULES, None)
    assert d.paused and d.reason == "Game detected: eldenring.exe is using GPU 0"


def test_another_heavy_compute_program_pauses_the_node() -> None:
    policy = PausePolicy(0, pause_after_s=0)
    other = GpuProcess(5150, "/home/ana/sd/venv/bin/python", "compute", 9 * GIB)
    g = replace(serving(gpu()), processes=(*serving(gpu()).processes, other))
    d = policy.decide(at(0), inputs(g), RULES, None)
    assert d.paused and d.code == "gpu_busy"
    assert d.reason == "python (not FarNode) is using GPU 0 heavily"


def test_game_detection_can_be_turned_off() -> None:
    policy = PausePolicy(0, pause_after_s=0)
    rules = PauseRules(detect_games=False)
    assert not policy.decide(
        at(0), inputs(with_game(serving(gpu())), steam_app_id=1245620), rules, None
    ).paused


def test_steam_running_app_pauses_at_once() -> None:
    policy = PausePolicy(0)
    d = policy.decide(at(0), inputs(serving(gpu()), steam_app_id=1245620), RULES, None)
    assert d.paused and d.reason == "Steam game running (app 1245620)"
    assert not PausePolicy(0).decide(at(0), inputs(gpu(), steam_app_id=0), RULES, None).paused


def test_a_full_screen_app_in_front_pauses_at_once_and_only_with_game_detection_on() -> None:
    d = PausePolicy(0).decide(at(0), inputs(serving(gpu()), fullscreen_app="a Direct3D game"), RULES, None)
    assert (d.paused, d.code, d.reason) == (True, "fullscreen", "A Direct3D game is full screen in front")
    off = PauseRules(detect_games=False)
    assert not PausePolicy(0).decide(at(0), inputs(gpu(), fullscreen_app="StandInGame"), off, None).paused
    policy = PausePolicy(0, resume_after_s=60)
    policy.decide(at(0), inputs(gpu(), fullscreen_app="StandInGame"), RULES, None)
    assert policy.decide(at(1), inputs(gpu()), RULES, None).paused  # alt-tab: still paused
    ended = policy.decide(at(62), inputs(gpu()), RULES, None)
    assert not ended.paused and ended.reason == "Game or program ended (was: StandInGame is full screen in front)"


def test_programs_on_the_pause_list() -> None:
    rules = PauseRules(programs=["Blender.exe"])
    d = PausePolicy(0).decide(at(0), inputs(gpu(), running_programs=frozenset({"blender"})), rules, None)
    assert d.paused and d.reason == "Blender.exe is running (on your pause list)"
    on_gpu = replace(gpu(), processes=(GpuProcess(77, "/usr/bin/blender", "graphics", 300 * MIB),))
    d = PausePolicy(0).decide(at(0), inputs(on_gpu), rules, None)
    assert d.reason == "Blender.exe is using GPU 0 (on your pause list)"
    assert (
        not PausePolicy(0)
        .decide(at(0), inputs(gpu(), running_programs=frozenset({"bash"})), rules, None)
        .paused
    )


def test_temperature_limit_with_a_margin() -> None:
    policy = PausePolicy(0, temp_margin_c=5)
    rules = PauseRules(temperature_limit_c=83)
    hot = replace(gpu(), temperature_c=84)
    d = policy.decide(at(0), inputs(hot), rules, None)
    assert d.paused and d.reason == "GPU 0 is at 84 °C (your limit is 83 °C)"
    assert policy.decide(at(10), inputs(replace(gpu(), temperature_c=80)), rules, None).paused
    d = policy.decide(at(20), inputs(replace(gpu(), temperature_c=78)), rules, None)
    assert not d.paused and d.reason.startswith("GPU cooled down")
    assert not policy.decide(at(30), inputs(replace(gpu(), temperature_c=82)), rules, None).paused


def test_weekly_schedule() -> None:
    rules = PauseRules(schedule=[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}])
    policy = PausePolicy(0)
    d = policy.decide(WED_10, inputs(gpu()), rules, None)
    assert d.paused and d.reason == "Paused by your schedule (Mon, Tue, Wed, Thu, Fri 09:00-17:00)"
    d = policy.decide(WED_10.replace(hour=17), inputs(gpu()), rules, None)
    assert not d.paused and d.reason.startswith("Scheduled pause ended")
    saturday = WED_10 + dt.timedelta(days=3)
    assert not PausePolicy(0).decide(saturday, inputs(gpu()), rules, None).paused


def test_schedule_over_midnight() -> None:
    (w,) = parse_schedule([{"days": [4], "start": "22:00", "end": "06:00"}])
    friday_23 = dt.datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    assert w.contains(friday_23)
    assert w.contains(friday_23 + dt.timedelta(hours=4))  # Saturday 03:00
    assert not w.contains(friday_23 + dt.timedelta(hours=8))  # Saturday 07:00
    assert not w.contains(friday_23 - dt.timedelta(days=1, hours=20))  # Thursday 03:00


@pytest.mark.parametrize(
    "entry",
    [{"days": [0], "start": "25:00", "end": "06:00"}, {"days": [9], "start": "01:00", "end": "02:00"},
     {"start": "01:00", "end": "02:00"}, {"days": [1], "start": "08:00", "end": "08:00"}],
)  # fmt: skip
def test_bad_schedule_entries_are_plain_errors(entry: dict[str, object]) -> None:
    with pytest.raises(UserInputError, match="schedule entry 1"):
        parse_schedule([entry])


def test_a_bad_schedule_never_stops_serving() -> None:
    rules = PauseRules(schedule=[{"days": "x"}])
    assert not PausePolicy(0).decide(WED_10, inputs(gpu()), rules, None).paused


def test_snooze_choices() -> None:
    now = WED_10.timestamp()
    s = Snooze.choose("30 min", now)
    assert s.active(now + 1799) and not s.active(now + 1800)
    assert Snooze.choose("2 h", now).until == now + 7200
    forever = Snooze.choose("until restart", now)
    assert forever.active(now + 10**9) and forever.describe() == "Snoozed until FarNode restarts"
    assert s.describe(UTC) == "Snoozed until 10:30"
    with pytest.raises(UserInputError, match="snooze must be one of"):
        Snooze.choose("3 days", now)


def test_snooze_pauses_at_once_and_ends_at_once() -> None:
    policy = PausePolicy(0)
    snooze = Snooze.choose("1 h", WED_10.timestamp())
    d = policy.decide(at(0), inputs(serving(gpu())), RULES, snooze)
    assert d.paused and d.code == "snooze" and d.reason == "Snoozed until 11:00"
    assert policy.decide(at(3599), inputs(gpu()), RULES, snooze).paused
    d = policy.decide(at(3600), inputs(gpu()), RULES, snooze)
    assert not d.paused and d.reason == "Snooze ended (was: Snoozed until 11:00)"


def test_only_when_idle() -> None:
    rules = PauseRules(only_when_idle=True, idle_minutes=10)
    policy = PausePolicy(0)
    d = policy.decide(at(0), inputs(gpu(), idle_s=30.0), rules, None)
    assert d.paused and d.reason == "You are using the PC; serving starts after 10 min idle"
    assert policy.decide(at(60), inputs(gpu(), idle_s=599.0), rules, None).paused
    assert not policy.decide(at(120), inputs(gpu(), idle_s=600.0), rules, None).paused
    # idle time unknown on this system: never blocks serving
    assert not PausePolicy(0).decide(at(0), inputs(gpu(), idle_s=None), rules, None).paused


def test_the_first_reason_wins_and_the_reason_follows_the_situation() -> None:
    policy = PausePolicy(0)
    snooze = Snooze.choose("30 min", WED_10.timestamp())
    hot = replace(gpu(), temperature_c=90)
    assert policy.decide(at(0), inputs(hot), RULES, snooze).code == "snooze"
    assert policy.decide(at(1800), inputs(hot), RULES, snooze).code == "temperature"


def test_no_reading_means_no_gpu_rules() -> None:
    assert not PausePolicy(0).decide(at(0), inputs(None), RULES, None).paused


def test_pause_cost() -> None:
    cost = pause_cost(170.0, 2 * 3600)
    assert cost.tokens == 1_224_000
    assert cost.text == "about 1.2 million served tokens over 2 h (at 170 tokens/s now)"
    assert pause_cost(12.5, 1800).text == "about 22,500 served tokens over 30 min (at 12 tokens/s now)"
    assert pause_cost(170.0, None).text.startswith("about 612,000 served tokens for every hour paused")
    assert pause_cost(0.0, 3600).text == "nothing: the node is not serving anyone right now"
    with pytest.raises(UserInputError):
        pause_cost(10.0, -5)
