"""AppCore, the headless object the UI drives: one node per eligible GPU, snooze, settings that restart only what
they must, served work into the ledger. NVML is replayed from fixtures; supervisors are recorded fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.events import EventLog
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nvml"


class RecordedSupervisor:
    """Does what the real supervisor's controls do to its state, without processes."""

    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec
        self.state = NodeState.STOPPED
        self.reason = ""
        self.served = 0
        self.calls: list[str] = []
        self.closed = False

    def start(self) -> None:
        self.calls.append("start")
        self.state = NodeState.SERVING

    def stop(self) -> None:
        self.calls.append("stop")
        self.state = NodeState.STOPPED

    def pause(self, reason: str) -> None:
        self.calls.append(f"pause: {reason}")
        self.state, self.reason = NodeState.PAUSED, reason

    def resume(self, reason: str) -> None:
        self.calls.append(f"resume: {reason}")
        self.state, self.reason = NodeState.SERVING, reason

    def transition(self, now: float) -> None:
        return

    @property
    def server_pid(self) -> int | None:
        return self.status().pid

    def close(self) -> None:
        self.closed = True

    def status(self) -> NodeStatus:
        return NodeStatus(name=self.spec.name, state=self.state, reason=self.reason, peer_id=f"Qm{self.spec.name}",
                          served_tokens=self.served, start_block=0, end_block=self.spec.num_blocks or 1,
                          tokens_per_s=100.0 if self.state is NodeState.SERVING else 0.0)


def make_core(tmp_path: Path, fixture: str, settings: Settings) -> tuple[AppCore, dict[str, RecordedSupervisor]]:
    paths = AppPaths.under(tmp_path)
    SettingsStore(paths.ensure().config_file).save(settings)
    made: dict[str, RecordedSupervisor] = {}

    def factory(spec: NodeSpec) -> Any:
        made[spec.name] = RecordedSupervisor(spec)
        return made[spec.name]

    import json

    nvml = FakeNvml(json.loads((FIXTURES / fixture).read_text()))
    core = AppCore(paths, nvml=nvml, clock=ManualClock(), supervisor_factory=factory, sample_gpus=False)
    return core, made


def test_one_node_per_eligible_gpu_and_left_out_gpus_stay_out(tmp_path: Path) -> None:
    import json

    snapshot = json.loads((FIXTURES / "linux_rtx4090_rtx3060.json").read_text())
    second_uuid = snapshot["gpus"][1]["uuid"]
    settings = Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"])
    core, made = make_core(tmp_path / "a", "linux_rtx4090_rtx3060.json", settings)
    core.start()
    assert sorted(made) == ["gpu0", "gpu1"]
    assert made["gpu0"].spec.cuda_visible_devices == "0" and made["gpu1"].spec.cuda_visible_devices == "1"
    assert made["gpu0"].spec.num_blocks and made["gpu0"].spec.num_blocks > (made["gpu1"].spec.num_blocks or 0)
    assert all(s.calls == ["start"] for s in made.values())

    settings.excluded_gpus = [second_uuid]
    core2, made2 = make_core(tmp_path / "b", "linux_rtx4090_rtx3060.json", settings)
    core2.start()
    assert sorted(made2) == ["gpu0"]


def test_snooze_pauses_every_node_with_the_reason_and_resume_undoes_it(tmp_path: Path) -> None:
    core, made = make_core(tmp_path, "linux_rtx4090.json",
                           Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))
    log = EventLog()
    core.bus.subscribe(log, "gpu.")
    core.start()
    assert core.pause_cost(7200) == "nothing is being served right now, so pausing costs nothing"
    made["gpu0"].served = 6000  # 100 tokens/s over the last minute, the rate the dashboard's chart shows
    assert isinstance(core.clock, ManualClock)
    core.clock.advance(60)
    assert core.pause_cost(7200) == ("a 2 h pause = about 720,000 served tokens (no payout has settled yet to price"
                                     " them in FAR)")
    core.snooze("2h")
    assert made["gpu0"].state is NodeState.PAUSED and made["gpu0"].reason == "paused by you for 2 h"
    assert log.events[-1].topic == "gpu.paused"
    assert core.pause_cost(60) == "nothing is being served right now, so pausing costs nothing"
    core.end_snooze()
    assert made["gpu0"].state is NodeState.SERVING and log.events[-1].topic == "gpu.resumed"
    with pytest.raises(Exception, match="unknown pause length"):
        core.snooze("3 days")


def test_settings_restart_nodes_only_when_launch_arguments_change(tmp_path: Path) -> None:
    base = Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"])
    core, made = make_core(tmp_path, "linux_rtx4090.json", base)
    core.start()
    first = made["gpu0"]
    changed = Settings(**{**base.__dict__, "log_level": "DEBUG", "start_at_login": True})
    assert core.apply_settings(changed) == []
    assert first.calls == ["start"]
    assert SettingsStore(core.paths.config_file).load().log_level == "DEBUG"
    fewer = Settings(**{**changed.__dict__, "blocks": 3})
    assert core.apply_settings(fewer) == ["gpu0"]
    assert first.calls == ["start", "stop"]
    assert made["gpu0"] is not first and made["gpu0"].spec.num_blocks == 3 and made["gpu0"].calls == ["start"]
    assert first.closed and not made["gpu0"].closed  # the replaced node let go of its log file


def test_served_work_is_recorded_in_one_minute_periods(tmp_path: Path) -> None:
    core, made = make_core(tmp_path, "linux_rtx4090.json",
                           Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))
    core.start()
    clock = core.clock
    assert isinstance(clock, ManualClock)
    core.tick()
    made["gpu0"].served = 6000
    clock.advance(61)
    core.tick()
    made["gpu0"].served = 9000
    clock.advance(61)
    core.tick()
    work = core.ledger.served_work("gpu0")
    assert [w.tokens for w in work] == [6000, 3000]
    history = core.throughput_history("gpu0", 3600)
    # minutes end now (as the headline's rate does): the middle one holds 59 s of the first record and 1 s of the
    # second, the last one 60 s of the second's 61
    assert [round(p.tokens_per_s) for p in history] == [98, 98, 49]
    assert history[-1].tokens_per_s == pytest.approx(core.served_rates()["gpu0"])
    assert sum(p.tokens for p in history) == pytest.approx(9000)


def test_planning_counts_the_vram_our_own_node_holds_as_free(tmp_path: Path) -> None:
    import json
    import os

    snapshot = json.loads((FIXTURES / "linux_rtx4090.json").read_text())
    gpu = snapshot["gpus"][0]
    held = 18 * 1024**3  # a serving node holds 18 GiB
    gpu["memory"]["free"] -= held
    gpu["memory"]["used"] += held
    gpu["compute_processes"] = [{"pid": os.getpid(), "name": "python", "used_memory": held}]
    paths = AppPaths.under(tmp_path)
    SettingsStore(paths.ensure().config_file).save(
        Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))

    class Serving(RecordedSupervisor):
        def status(self) -> NodeStatus:
            status = super().status()
            status.pid = os.getpid()  # this test process stands for the node's server process
            return status

    core = AppCore(paths, nvml=FakeNvml(snapshot), clock=ManualClock(), supervisor_factory=Serving,
                   sample_gpus=False)
    core.start()
    live = core.gpu_inventory()
    planning = core.planning_inventory()
    assert live is not None and planning is not None
    assert planning.gpus[0].free_bytes == live.gpus[0].free_bytes + held
    assert live.gpus[0].free_bytes < 8 * 1024**3  # live numbers, as the dashboard shows them, are untouched


def test_a_timed_pause_ends_by_itself_and_one_gpu_can_be_paused_alone(tmp_path: Path) -> None:
    core, made = make_core(tmp_path, "linux_rtx4090_rtx3060.json",
                           Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))
    core.start()
    clock = core.clock
    assert isinstance(clock, ManualClock)
    core.snooze("30m", gpu=1)
    assert made["gpu1"].state is NodeState.PAUSED and made["gpu0"].state is NodeState.SERVING
    assert set(core.snoozed_gpus()) == {1} and not core.snoozed
    clock.advance(29 * 60)
    core.tick()
    assert made["gpu1"].state is NodeState.PAUSED
    clock.advance(2 * 60)
    core.tick()
    assert made["gpu1"].state is NodeState.SERVING  # games-first or the expiry resumed it, with its reason
    assert made["gpu1"].reason.startswith(("Snooze ended", "your pause ended"))
    assert core.snoozed_gpus() == {}
    with pytest.raises(Exception, match="no node on GPU 7"):
        core.snooze("1h", gpu=7)


def test_pauses_have_one_owner_a_gpus_own_pause_outlasts_start_and_a_shorter_pause_of_all(tmp_path: Path) -> None:
    core, made = make_core(tmp_path, "linux_rtx4090_rtx3060.json",
                           Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))
    core.start()
    clock = core.clock
    assert isinstance(clock, ManualClock)
    core.snooze("until_resume", gpu=1)
    core.stop_nodes()
    core.start_nodes()  # "Start serving": GPU 1's own pause still holds
    assert made["gpu0"].state is NodeState.SERVING and made["gpu1"].state is NodeState.PAUSED
    assert core.snoozed_gpus() == {1: float("inf")}

    core.snooze("30m")  # every node, for a while
    assert core.snoozed and made["gpu0"].state is NodeState.PAUSED
    clock.advance(31 * 60)
    core.tick()
    assert not core.snoozed and made["gpu0"].state is NodeState.SERVING
    assert made["gpu1"].state is NodeState.PAUSED and core.snoozed_gpus() == {1: float("inf")}
    core.end_snooze()  # the tray's Resume ends every pause of the provider's
    assert made["gpu1"].state is NodeState.SERVING and core.snoozed_gpus() == {}



def test_a_damaged_settings_file_is_said_to_the_provider_not_only_logged(tmp_path: Path) -> None:
    from farnode_desktop.ui.viewmodels.tray_vm import notice_for  # the view-model's mapping; no widget

    core, made = make_core(tmp_path, "linux_rtx4090.json", Settings())
    core.paths.config_file.write_text('{"model": "meta-llama/Llama-2-70b-chat-hf", "blocks": "many", "headroom_gib": 2.0}')
    log = EventLog()
    core.bus.subscribe(log, "settings.")
    core.start(serve=False)
    (event,) = log.events
    assert "blocks" in event.reason and "settings.json.bad-" in event.reason
    assert core.settings.blocks is None and core.settings.headroom_gib == 2.0
    notice = notice_for(event)
    assert notice is not None and notice.level == "warning" and "blocks" in notice.message
    core.shutdown()
    assert made and all(s.closed for s in made.values())  # every node let go of its log file
