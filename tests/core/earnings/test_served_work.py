"""Served-work figures against a known workload: the per-minute chart series, its peak and its token total agree
with the node counters they come from, whatever the recording period (5 s in the demo, 60 s in the app)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.earnings.ledger import Ledger, ServedWork
from farnode_desktop.core.earnings.served_work import ServedWorkRecorder, per_minute
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"
MINUTE0 = 1_760_000_040.0  # a whole minute (1_760_000_040 = 29_333_334 x 60)
RATE = 76.0  # tokens/s the demo's node serves


class CountingSupervisor:
    """Serves RATE tokens/s per GPU node while SERVING, on the test's clock; the counter is what Petals reports."""

    def __init__(self, spec: NodeSpec, clock: ManualClock, rate: float) -> None:
        self.spec, self.clock, self.rate = spec, clock, rate
        self.state = NodeState.STOPPED
        self.served = 0.0
        self._last = clock.monotonic()

    def start(self) -> None:
        self.state = NodeState.SERVING
        self._last = self.clock.monotonic()

    def stop(self) -> None:
        self.state = NodeState.STOPPED

    def pause(self, reason: str) -> None:
        self.state = NodeState.PAUSED

    def resume(self, reason: str) -> None:
        self.start()

    def transition(self, now: float) -> None:
        if self.state is NodeState.SERVING:
            self.served += self.rate * (now - self._last)
        self._last = now

    server_pid = None  # no server process: the node is counted, not run

    def close(self) -> None:
        return

    def status(self) -> NodeStatus:
        return NodeStatus(name=self.spec.name, state=self.state, reason="", peer_id=f"Qm{self.spec.name}",
                          served_tokens=round(self.served), start_block=0, end_block=4)


def counting_core(tmp_path: Path, period_s: float, rates: tuple[float, ...] = (RATE,),
                  fixture: str = "linux_rtx4090.json") -> tuple[AppCore, dict[str, CountingSupervisor]]:
    paths = AppPaths.under(tmp_path)
    SettingsStore(paths.ensure().config_file).save(
        Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))
    clock = ManualClock(wall_start=MINUTE0)
    made: dict[str, CountingSupervisor] = {}

    def factory(spec: NodeSpec) -> Any:
        made[spec.name] = CountingSupervisor(spec, clock, rates[len(made) % len(rates)])
        return made[spec.name]

    nvml = FakeNvml(json.loads((FIXTURES / fixture).read_text()))
    core = AppCore(paths, nvml=nvml, clock=clock, supervisor_factory=factory, sample_gpus=False,
                   served_work_period_s=period_s)
    return core, made


def run_for(core: AppCore, seconds: float, step: float = 0.5) -> None:
    clock = core.clock
    assert isinstance(clock, ManualClock)
    for _ in range(round(seconds / step)):
        clock.advance(step)
        core.tick()


@pytest.mark.parametrize(("period_s", "offset_s"), [(5.0, 0.0), (60.0, 30.0), (60.0, 0.0), (45.0, 10.0)])
def test_every_minute_shows_the_rate_served_and_the_minutes_add_up_to_the_counter(
        tmp_path: Path, period_s: float, offset_s: float) -> None:
    core, made = counting_core(tmp_path, period_s)
    core.start()
    run_for(core, offset_s)  # nothing recorded yet when the serving period straddles minute edges
    run_for(core, 10 * 60)
    core.shutdown(timeout_s=1)
    node = made["gpu0"]
    recorded = sum(w.tokens for w in Ledger(core.paths.ledger_file).served_work())
    assert recorded == round(node.served)  # the ledger holds every token the counter counted

    works = Ledger(core.paths.ledger_file).served_work()
    series = per_minute(works, MINUTE0 - 3600, MINUTE0 + 3600)
    assert len(series) == math.ceil((offset_s + 600) / 60)
    assert [round(p.tokens_per_s, 6) for p in series] == [RATE] * len(series)  # each minute: the real rate
    assert max(p.tokens_per_s for p in series) == pytest.approx(RATE)  # the peak is not 12 records added up
    assert sum(p.tokens for p in series) == pytest.approx(recorded)


def test_two_nodes_add_up_and_a_node_rate_is_not_diluted_by_its_gaps(tmp_path: Path) -> None:
    core, _ = counting_core(tmp_path, 5.0, rates=(850.0, 310.0), fixture="linux_rtx4090_rtx3060.json")
    core.start()
    run_for(core, 120)
    core.tick()
    history = core.throughput_history(None, 3600)
    assert [round(p.tokens_per_s) for p in history] == [1160, 1160]
    total = sum(p.tokens for p in history)
    assert total == pytest.approx(sum(w.tokens for w in core.ledger.served_work()))
    core.shutdown(timeout_s=1)


def test_records_of_any_length_spread_over_the_minutes_they_cover() -> None:
    def work(node: str, start: float, end: float, tokens: int) -> ServedWork:
        return ServedWork(0, node, "p", start, end, tokens, 4)

    # two 60 s records landing in one minute used to double that minute
    works = [work("gpu0", 30, 90, 60 * 76), work("gpu0", 90, 150, 60 * 76), work("gpu1", 60, 120, 60 * 10)]
    series = per_minute(works, 0, 1000)
    assert [(p.at, round(p.tokens_per_s, 6), round(p.tokens, 6)) for p in series] == [
        (0.0, 76.0, 30 * 76.0), (60.0, 86.0, 60 * 76.0 + 600), (120.0, 76.0, 30 * 76.0)]
    clipped = per_minute(works, 45, 1000)  # a range edge inside a record keeps only the share inside
    assert clipped[0].tokens == pytest.approx(15 * 76) and clipped[0].tokens_per_s == pytest.approx(76)
    assert per_minute([work("gpu0", 100, 100, 10)], 0, 1000)[0].tokens == pytest.approx(10)  # zero-length record


def test_the_recorder_flush_keeps_the_partial_period_and_a_new_counter_starts_again(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    recorder = ServedWorkRecorder(ledger, 60.0)
    status = NodeStatus(name="gpu0", state=NodeState.SERVING, reason="", peer_id="Qm", served_tokens=0)
    recorder.observe(status, 1000.0)
    status.served_tokens = 5000
    recorder.observe(status, 1060.0)
    status.served_tokens = 5100
    recorder.observe(status, 1070.0)  # not a whole period yet
    recorder.flush(status, 1070.0)  # the node is about to stop
    recorder.forget("gpu0")
    replaced = NodeStatus(name="gpu0", state=NodeState.SERVING, reason="", peer_id="Qm", served_tokens=40)
    recorder.observe(replaced, 1075.0)
    recorder.flush(replaced, 1080.0)
    assert [w.tokens for w in ledger.served_work()] == [5000, 100, 40]
    assert [w.tokens for w in ledger.served_work(since=1070.0)] == [40]
    ledger.close()
