"""The supervisor: starting, serving, pausing and resuming a node; the runtime install; served tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import PID_FILE
from tests.core.node.supervisor_rig import SERVING_BODY, Rig


def test_start_to_serving_with_a_reason_on_every_change(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    assert rig.sup.state is NodeState.STARTING
    command = rig.host.launched[0].command
    assert command.argv[:3] == ["/rt/bin/python", "-m", "farnode_desktop.mesh.serve"]
    assert command.cwd == rig.paths.node_dir("gpu0")  # the app's own folder, so Petals' ./config.yml is ours
    assert "--identity_path" in command.argv and "--dht_prefix" in command.argv
    assert json.loads((command.cwd / PID_FILE).read_text())["pgid"] == rig.host.launched[0].pgid
    rig.serve()
    status = rig.sup.status()
    assert (status.peer_id, status.start_block, status.end_block) == ("QmPeer", 0, 4)
    assert rig.states() == ["starting", "loading blocks", "serving"]
    assert all(e.reason for e in rig.log.events)
    assert rig.log.events[-1].reason == "serving blocks 0-3 of tiny"


def test_the_child_environment_is_an_allowlist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FARNODE_SECRET_SHOULD_NOT_LEAK", "0xdeadbeef")
    rig = Rig(tmp_path)
    rig.sup.start()
    env = rig.host.launched[0].command.env
    assert "FARNODE_SECRET_SHOULD_NOT_LEAK" not in env
    assert env["PYTHONPATH"] == "/app" and env["PETALS_IGNORE_DEPENDENCY_VERSION"] == "1"


def test_pause_and_resume_carry_their_reasons(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.sup.pause("Game detected: eldenring.exe is using GPU 0")
    rig.tick()
    assert rig.sup.state is NodeState.PAUSED
    assert rig.log.events[-1].reason == "Game detected: eldenring.exe is using GPU 0"
    rig.sup.resume("the game ended")
    assert rig.sup.state is NodeState.STARTING
    assert rig.log.events[-1].reason == "the game ended"
    assert len(rig.host.launched) == 2


def test_missing_runtime_fails_with_what_to_do_or_provisions_it(tmp_path: Path) -> None:
    rig = Rig(tmp_path, runtime_ready=lambda: False)
    rig.sup.start()
    assert rig.sup.state is NodeState.FAILED
    assert "farnode runtime install" in rig.sup.status().hint
    installed = []
    rig2 = Rig(tmp_path / "2", runtime_ready=lambda: bool(installed), provision=lambda _: installed.append(1))
    rig2.sup.start()
    assert rig2.sup.state is NodeState.PROVISIONING
    assert rig2.sup.wait_until(lambda s: s is NodeState.STARTING, 5, tick_s=0.01) is NodeState.STARTING


def test_served_tokens_add_up_across_restarts_and_give_a_rate(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.sup.start()
    rig.serve()
    rig.probe.body["served_tokens"] = 1000
    rig.tick(5)
    rig.probe.body["served_tokens"] = 2000
    rig.tick(5)
    assert rig.sup.status().tokens_per_s == pytest.approx(200.0)
    rig.host.launched[-1].exit(1)
    rig.tick()
    rig.tick()
    rig.tick(3)
    rig.probe.body = dict(SERVING_BODY, served_tokens=50)
    rig.tick(1)
    assert rig.sup.status().served_tokens == 2050


def test_serving_is_announced_only_with_its_blocks(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    seen: list[tuple[str, int | None, int | None]] = []
    rig.sup.bus.subscribe(lambda e: seen.append((e.data["state"], rig.sup.status().start_block,
                                                 rig.sup.status().end_block)) if e.topic == "node.state" else None)
    rig.sup.start()
    proc = rig.host.launched[0]
    proc.say("Nov 22 14:07:40.654 [INFO] Loaded /models/tiny block 0")
    rig.tick()
    rig.probe.body = dict(SERVING_BODY, state="loading blocks", start_block=None, end_block=None, blocks=[])
    proc.say("Nov 22 14:07:41.001 [INFO] Started")  # the log says started before the endpoint knows the blocks
    assert rig.tick(0.1) is NodeState.LOADING
    rig.probe.body = dict(SERVING_BODY)
    assert rig.tick(0.1) is NodeState.SERVING  # the next tick asks at once, not after the probe interval
    assert seen[-1] == ("serving", 0, 4)
    assert rig.log.events[-1].reason == "serving blocks 0-3 of tiny"
