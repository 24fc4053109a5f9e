"""The supervisor's table of legal transitions: anything else raises an internal error, and every entry is used."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.transitions import LEGAL, IllegalTransition, check_transition
from tests.core.node.fake_os import PASSED
from tests.core.node.supervisor_rig import SERVING_BODY, Rig, health_report

S = NodeState
LOADED = "Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0"
HEALS = "OSError: [Errno 28] No space left on device"  # a fatal cause that can heal: FAILED, cooling down
STAYS = "OSError: Can't load the configuration of '/models/missing'"  # a fatal cause that stays: FAILED for good
REFUSED = OSError(errno.ENOEXEC, "Exec format error")


def test_an_illegal_transition_raises_a_clear_internal_error(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    with pytest.raises(IllegalTransition) as caught:
        rig.sup._set(S.SERVING, "serving blocks 0-3 of tiny")  # nothing was launched: serving what?
    assert str(caught.value) == ("internal error in the supervisor of node gpu0: stopped -> serving is not a legal "
                                 "transition (from stopped only to: failed, paused, provisioning, starting)")
    assert not isinstance(caught.value, FarNodeError)  # a bug, not a fault of the machine the provider can fix
    assert rig.sup.state is S.STOPPED and rig.log.events == []  # refused before anything changed or was announced
    rig.sup.start()
    rig.serve()
    with pytest.raises(IllegalTransition, match="serving -> backoff"):
        rig.sup._set(S.BACKOFF, "restarting")  # a restart always stops the server first
    with pytest.raises(IllegalTransition, match="serving -> serving"):
        check_transition("gpu0", S.SERVING, S.SERVING)
    assert rig.sup.state is S.SERVING


def test_the_table_names_every_state() -> None:
    assert set(LEGAL) == set(NodeState)
    assert all(next_states <= set(NodeState) for next_states in LEGAL.values())


# ----- scenarios that together walk every legal transition -----
def _start_crash_serve_stop(rig: Rig) -> None:
    rig.sup.start()  # stopped -> starting
    rig.host.launched[-1].exit(1)
    rig.tick()
    assert rig.tick() is S.BACKOFF
    assert rig.tick(10) is S.STARTING  # backoff -> starting
    rig.serve()  # starting -> loading -> serving
    rig.sup.stop()
    assert rig.tick() is S.STOPPED


def _serving_at_once_then_stop_while_starting_and_loading(rig: Rig) -> None:
    rig.sup.start()
    rig.probe.body = dict(SERVING_BODY)  # the endpoint says serving before the log said anything: starting -> serving
    assert rig.tick(1) is S.SERVING
    rig.sup.stop()
    rig.tick()
    rig.probe.body = {}
    rig.sup.start()
    rig.sup.stop()  # starting -> stopping
    rig.tick()
    rig.sup.start()
    rig.host.launched[-1].say(LOADED)
    assert rig.tick() is S.LOADING
    rig.sup.stop()  # loading -> stopping
    assert rig.tick() is S.STOPPED


def _waiting_for_a_test_request(rig: Rig) -> None:  # loading -> loading (a new reason)
    rig.sup.start()
    rig.host.launched[-1].say(LOADED)
    rig.tick()
    rig.probe.body = dict(SERVING_BODY, health=health_report())
    rig.tick(1)
    assert rig.sup.status().reason == "sending a test request through the node"
    rig.probe.body["health"] = dict(PASSED)
    assert rig.tick(1) is S.SERVING


def _drains(rig: Rig) -> None:
    rig.sup.start()
    rig.serve()
    rig.sup.drain("switching to a new node runtime", deadline_s=60, relaunch=False)  # serving -> draining
    rig.probe.body["sessions_cache_bytes"] = 0
    rig.tick(1)  # the quiet answer
    rig.tick()  # draining -> stopping
    assert rig.tick() is S.STOPPED


def _pauses(rig: Rig) -> None:
    rig.sup.pause("a game")  # stopped -> paused
    rig.sup.resume("the game ended")  # paused -> starting
    rig.serve()
    rig.sup.pause("a game")  # serving -> stopping -> paused
    rig.tick()
    assert rig.sup.state is S.PAUSED
    rig.sup.stop()  # paused -> stopped
    assert rig.sup.state is S.STOPPED


def _backoffs(rig: Rig) -> None:
    for then in (rig.sup.stop, lambda: rig.sup.pause("a game")):
        rig.sup.resume("again")
        rig.host.launched[-1].exit(1)
        rig.tick()
        assert rig.tick() is S.BACKOFF  # stopping -> backoff
        then()  # backoff -> stopped, then backoff -> paused
        assert rig.tick() in (S.STOPPED, S.PAUSED)
    rig.sup.resume("again")
    rig.host.launched[-1].exit(1)
    rig.tick()
    rig.tick()
    rig.host.launch_error = REFUSED
    assert rig.tick(10) is S.FAILED  # backoff -> failed


def _failures(rig: Rig) -> None:
    rig.sup.start()
    rig.host.launched[-1].say(STAYS)
    rig.tick()
    assert rig.tick() is S.FAILED  # stopping -> failed
    rig.sup.start()  # failed -> starting
    rig.host.launched[-1].say(HEALS)
    rig.tick()
    assert rig.tick() is S.FAILED
    rig.sup.stop()  # failed (cooling down) -> stopped
    rig.sup.start()
    rig.host.launched[-1].say(HEALS)
    rig.tick()
    rig.tick()
    rig.sup.pause("a game")
    cool_down = rig.sup.status().retry_in_s
    assert cool_down is not None and rig.tick(cool_down + 1) is S.PAUSED  # failed (cooled down) -> paused
    rig.host.launch_error = REFUSED
    rig.sup.resume("the game ended")  # paused -> failed
    rig.sup.start()  # failed -> failed
    assert rig.sup.state is S.FAILED and "could not be launched" in rig.sup.status().reason


def _provisioning(tmp_path: Path) -> list[Rig]:
    tries: list[int] = []
    flaky = Rig(tmp_path / "flaky", runtime_ready=lambda: len(tries) > 1, provision=lambda _: _install(tries))
    flaky.sup.start()  # stopped -> provisioning
    assert flaky.tick() is S.FAILED  # provisioning -> failed (the first install fails)
    flaky.sup.start()  # failed -> provisioning
    assert flaky.tick() is S.STARTING  # provisioning -> starting
    held = Rig(tmp_path / "held", runtime_ready=lambda: False, provision=lambda _: None)
    held.host.hold_jobs = True
    held.sup.start()
    held.sup.stop()
    held.host.jobs[-1].finish()
    assert held.tick() is S.STOPPED  # provisioning -> stopped
    paused = Rig(tmp_path / "paused", runtime_ready=lambda: False, provision=lambda _: None)
    paused.sup.pause("a game")
    paused.sup.resume("the game ended")  # paused -> provisioning
    paused.sup.pause("another game")  # provisioning -> paused (the install is cancelled, not waited for)
    missing = Rig(tmp_path / "missing", runtime_ready=lambda: False)
    missing.sup.start()  # stopped -> failed
    return [flaky, held, paused, missing]


def _install(tries: list[int]) -> None:
    """The first install breaks off, the second one works."""
    tries.append(1)
    if len(tries) == 1:
        raise FarNodeError("the download broke off", "run the install again")


def test_every_legal_transition_is_walked_and_no_other(tmp_path: Path) -> None:
    rigs = _provisioning(tmp_path)
    for scenario in (_start_crash_serve_stop, _serving_at_once_then_stop_while_starting_and_loading,
                     _waiting_for_a_test_request, _drains, _pauses, _backoffs, _failures):
        rig = Rig(tmp_path / scenario.__name__)
        scenario(rig)
        rigs.append(rig)
    walked = {(S(e.data["previous"]), S(e.data["state"])) for rig in rigs for e in rig.log.events
              if e.topic == "node.state"}
    legal = {(state, after) for state, next_states in LEGAL.items() for after in next_states}
    assert walked == legal, f"never walked: {sorted(legal - walked)}; walked but not in the table: {sorted(walked - legal)}"
