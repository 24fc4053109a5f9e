"""The outlook as the app builds it: AppCore's tick records the duty cycle and the GPUs' energy, the forecast is
read from the ledger at most every few minutes, the price per kWh comes from Settings, and a pause is priced in FAR
once a payout has settled."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from tests.core.earnings.test_forecast import settle
from tests.core.test_app_core import RecordedSupervisor

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"


def make_core(tmp_path: Path, price: float | None) -> tuple[AppCore, dict[str, RecordedSupervisor], ManualClock]:
    paths = AppPaths.under(tmp_path)
    SettingsStore(paths.ensure().config_file).save(Settings(
        model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"],
        electricity_price_per_kwh=price))
    made: dict[str, RecordedSupervisor] = {}

    def factory(spec: NodeSpec) -> Any:
        made[spec.name] = RecordedSupervisor(spec)
        return made[spec.name]

    clock = ManualClock(wall_start=time.time())
    core = AppCore(paths, nvml=FakeNvml.from_file(FIXTURES / "linux_rtx4090.json"), clock=clock,
                   supervisor_factory=factory, sample_gpus=False)
    return core, made, clock


def test_the_tick_records_the_duty_cycle_and_the_gpus_energy(tmp_path: Path) -> None:
    core, made, clock = make_core(tmp_path, 0.3)
    core.start()
    core.tick()
    for _ in range(10):  # ten minutes serving requests
        made["gpu0"].served += 6000
        clock.advance(60)
        core.sampler.sample_once()
        core.tick()
    core.snooze("30m")
    for _ in range(5):
        clock.advance(60)
        core.tick()
    today = core.outlook.duty.totals.day(time.strftime("%Y-%m-%d", time.gmtime(clock.wall())))
    assert today["serving"] == pytest.approx(600) and today["paused"] == pytest.approx(300)
    assert sum(core.outlook.energy.totals.day(d)["wh"] for d in core.outlook.energy.totals.days()) > 0
    outlook = core.outlook_now()
    assert outlook.electricity.price_per_kwh == 0.3 and not outlook.forecast.ready
    core.shutdown(timeout_s=1)
    assert (core.paths.data / "duty-cycle.json").is_file() and (core.paths.data / "gpu-energy.json").is_file()


def test_the_pause_cost_speaks_far_once_a_payout_settled_and_the_outlook_is_kept_a_while(tmp_path: Path) -> None:
    core, made, clock = make_core(tmp_path, None)
    core.start()
    core.tick()
    made["gpu0"].served = 6000  # 100 tokens/s
    clock.advance(60)
    core.tick()
    first = core.outlook_now()
    assert first.forecast.wei_per_token == 0 and first.electricity.price_per_kwh is None
    assert core.pause_cost(3600).endswith("(no payout has settled yet to price them in FAR)")
    settle(core.ledger, clock.wall() - 30, 1000, 10**12)
    assert core.outlook_now().forecast is first.forecast  # the ledger is read again only after a few minutes
    clock.advance(301)
    made["gpu0"].served = 6000 + 301 * 100  # still 100 tokens/s
    core.tick()
    assert core.outlook_now().forecast is not first.forecast
    assert made["gpu0"].state is NodeState.SERVING
    assert core.pause_cost(3600) == "a 1 h pause = about 0.36 FAR"


def test_a_damaged_record_is_set_aside_and_said_in_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from farnode_desktop.core.earnings.ledger import Ledger
    from farnode_desktop.core.earnings.outlook import Outlook

    paths = AppPaths.under(tmp_path).ensure()
    (paths.data / "duty-cycle.json").write_text("{not json")
    with caplog.at_level("WARNING", logger="farnode.outlook"):
        outlook = Outlook(paths, Ledger(paths.ledger_file), ManualClock(), lambda: None)
    assert "duty-cycle.json could not be read" in caplog.text and "the record starts again" in caplog.text
    assert list(paths.data.glob("duty-cycle.json.bad-*")) and not outlook.current().forecast.ready


def test_a_pause_for_a_game_is_told_apart_from_the_providers_own(tmp_path: Path) -> None:
    core, made, clock = make_core(tmp_path, None)
    core.start()
    nvml = core.sampler.reader.nvml
    assert isinstance(nvml, FakeNvml)
    core.tick()
    nvml.set_process(0, "graphics", 9001, "C:\\Games\\ELDEN RING\\Game\\eldenring.exe", 6 * 1024**3)
    nvml.gpu(0)["utilization"]["gpu"] = 96  # the game keeps the GPU busy
    for _ in range(60):  # a minute with a game on the GPU: games first pauses the node
        clock.advance(1)
        core.sampler.sample_once()
        core.tick()
    assert made["gpu0"].state is NodeState.PAUSED
    nvml.remove_process(0, 9001)  # the game ends
    nvml.gpu(0)["utilization"]["gpu"] = 2
    core.snooze("30m")  # then the provider's own pause
    for _ in range(60):
        clock.advance(1)
        core.sampler.sample_once()
        core.tick()
    day = core.outlook.duty.totals.day(time.strftime("%Y-%m-%d", time.gmtime(clock.wall())))
    # games first steps aside 5 s after the game appears (checked every 2 s): the rest of that minute is for the game
    assert 52 <= day["gaming"] <= 56 and day["paused"] == pytest.approx(60, abs=1)
    core.shutdown(timeout_s=1)
