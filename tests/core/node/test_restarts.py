"""The supervisor: crashes, backoff, crash loops and their cool-downs, fatal log lines, the status endpoint watchdog."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.core.node.restarts import duration_text
from farnode_desktop.core.node.status import NodeState
from tests.core.node.supervisor_rig import POLICY, Rig, crash_loop


def test_crashes_back_off_exponentially_then_fail_as_a_crash_loop(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    delays = []
    for attempt in range(4):
        rig.host.launched[-1].exit(1)
        rig.tick()  # exit seen -> stopping (the group is ended)
        state = rig.tick()
        if attempt == 3:
            break
        assert state is NodeState.BACKOFF
        delays.append(rig.sup.status().retry_in_s)
        assert rig.tick(delays[-1] - 0.1) is NodeState.BACKOFF
        assert rig.tick(0.2) is NodeState.STARTING
    assert delays == [2.0, 4.0, 8.0]  # 2 s, doubling, capped at 8 s
    status = rig.sup.status()
    assert status.state is NodeState.FAILED
    assert "failed 4 times in 10 minutes" in status.reason
    launches = len(rig.host.launched)
    rig.tick(590)
    assert len(rig.host.launched) == launches  # a crash loop cools down before it tries again (see below)


def test_a_fatal_log_line_fails_at_once_with_the_explanation(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.host.launched[0].say("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    rig.tick()
    assert rig.tick() is NodeState.FAILED
    status = rig.sup.status()
    assert status.reason == "The GPU ran out of memory while loading blocks."
    assert "headroom" in status.hint
    assert len(rig.host.launched) == 1


def test_the_watchdog_restarts_a_server_whose_status_endpoint_went_silent(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.probe.down = True
    for _ in range(6):
        rig.tick(5)
    assert rig.sup.state is NodeState.SERVING
    rig.tick(5)
    state = rig.tick()
    assert state is NodeState.BACKOFF
    assert "status endpoint stopped answering" in rig.sup.status().reason


def test_backoff_waits_what_it_says_even_when_a_tick_blocks(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.host.clock, rig.host.exited_poll_cost_s = rig.clock, 1.5  # each poll of an exited server blocks 1.5 s
    rig.sup.start()
    waited: list[tuple[float, float]] = []
    for _ in range(3):
        rig.host.launched[-1].exit(1)
        while rig.tick(0.1) is not NodeState.BACKOFF:
            pass
        backoff = rig.log.events[-1]
        announced = float(backoff.reason.rsplit("restarting in ", 1)[1].split(" s")[0])
        while rig.tick(0.1) is NodeState.BACKOFF:
            pass
        waited.append((announced, rig.log.events[-1].at - backoff.at))
    for announced, actual in waited:
        assert announced - 0.01 <= actual <= announced + 0.15, waited
    assert [a for a, _ in waited] == [2.0, 4.0, 8.0]


def test_a_crash_loop_cools_down_and_tries_again_by_itself(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    for cooldown in (600.0, 1800.0, 3600.0, 3600.0):  # 10 min, 30 min, then 1 h each time
        crash_loop(rig)
        status = rig.sup.status()
        assert status.state is NodeState.FAILED, status
        assert f"tries again by itself in {duration_text(cooldown)}" in status.reason
        assert status.retry_in_s == pytest.approx(cooldown, abs=1)  # when the next try is, for the tray and CLI
        launches = len(rig.host.launched)
        rig.tick(cooldown - 5)
        assert rig.sup.state is NodeState.FAILED and len(rig.host.launched) == launches
        assert rig.tick(6) is NodeState.STARTING
        assert rig.log.events[-1].reason == f"trying again by itself after a {duration_text(cooldown)} cool-down"
    rig.serve()
    rig.tick(POLICY.stable_after_s + 5)  # serving stably forgives the past: the next crash loop cools down 10 min
    crash_loop(rig)
    assert rig.sup.status().retry_in_s == pytest.approx(600, abs=1)


def test_stop_during_a_cool_down_stops_and_start_tries_at_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    crash_loop(rig)
    rig.sup.start()  # the provider does not want to wait
    assert rig.sup.state is NodeState.STARTING
    crash_loop(rig)
    rig.sup.stop()
    assert rig.sup.state is NodeState.STOPPED
    launches = len(rig.host.launched)
    rig.tick(4000)
    assert len(rig.host.launched) == launches


@pytest.mark.parametrize(("line", "heals"), [
    ("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", True),
    ("OSError: [Errno 28] No space left on device", True),
    ("Failed to load file config.json from HF Hub (retry in 30 sec)", True),
    ("OSError: Can't load the configuration of '/models/missing'", False),
    ("OSError: [Errno 98] error while attempting to bind on address ('127.0.0.1', 31337): address already in use", False),
    ("RuntimeError: CUDA driver version is insufficient for CUDA runtime version", False),
])
def test_causes_that_can_heal_cool_down_the_others_stay_failed(tmp_path: Path, line: str, heals: bool) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.host.launched[0].say(line)
    rig.tick()
    assert rig.tick() is NodeState.FAILED
    status = rig.sup.status()
    if heals:
        assert status.retry_in_s == pytest.approx(600, abs=1) and "tries again by itself in 10 min" in status.hint
        rig.tick(601)
        assert rig.sup.state is NodeState.STARTING and len(rig.host.launched) == 2
    else:
        assert status.retry_in_s is None and "tries again" not in status.hint
        rig.tick(10_000)
        assert rig.sup.state is NodeState.FAILED and len(rig.host.launched) == 1
