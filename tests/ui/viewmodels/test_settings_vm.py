"""Settings: the draft, the planner text, apply restarting only what must, bad input explained."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.autostart import Autostart
from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.gpus.eligibility import assess
from farnode_desktop.core.gpus.fleet import FleetOptions, build_specs
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel, parse_schedule_text, schedule_text
from farnode_desktop.ui.windows.settings import SettingsWindow
from tests.ui.conftest import tick_until
from tests.ui.fakes import make_core


def test_schedule_lines_round_trip() -> None:
    entries = parse_schedule_text("Mon-Fri 09:00-17:30\nSat,Sun 22:00-08:00\nFri-Mon 1:00-2:00")
    assert entries == [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:30"},
                       {"days": [5, 6], "start": "22:00", "end": "08:00"},
                       {"days": [0, 4, 5, 6], "start": "01:00", "end": "02:00"}]
    assert schedule_text(entries[:2]) == "Mon,Tue,Wed,Thu,Fri 09:00-17:30\nSat,Sun 22:00-08:00"
    with pytest.raises(UserInputError, match="line 1"):
        parse_schedule_text("weekdays 9-5")
    with pytest.raises(UserInputError, match="'Funday' is not a day"):
        parse_schedule_text("Funday 09:00-10:00")


def test_apply_restarts_only_when_the_launch_changes(core: AppCore, tasks: TaskRunner, qtbot: QtBot,
                                                     tmp_path: Path) -> None:
    core.start_nodes()
    tick_until(core, qtbot, lambda: all(s.state is NodeState.SERVING for s in core.node_statuses()))
    auto = Autostart(platform="linux", command=["farnode", "app"], config_home=tmp_path / "xdg")
    vm = SettingsViewModel(core, tasks, autostart=auto)
    assert "Plan for meta-llama/Meta-Llama-3.1-70B-Instruct" in vm.plan_text()
    vm.draft.pause.temperature_limit_c = 78
    vm.draft.start_at_login = True
    vm.schedule = "Mon-Fri 09:00-17:00"
    with qtbot.waitSignal(vm.applied, timeout=10_000) as saved:
        vm.apply()
    assert saved.args == ["Saved. Applied without restarting any node."]
    stored = SettingsStore(core.paths.config_file).load()
    assert stored.pause.temperature_limit_c == 78 and stored.pause.schedule[0]["days"] == [0, 1, 2, 3, 4]
    assert auto.is_enabled() and (tmp_path / "xdg" / "autostart" / "farnode.desktop").exists()

    vm.set_blocks(6)
    assert "manual: you chose 6 blocks in Settings: this GPU serves 6" in vm.plan_text()
    with qtbot.waitSignal(vm.applied, timeout=30_000) as saved:
        vm.apply()
    assert saved.args == ["Saved. Restarting gpu0, gpu1 to apply the change."]
    assert SettingsStore(core.paths.config_file).load().blocks == 6


def test_bad_input_is_explained_and_nothing_is_saved(core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    vm = SettingsViewModel(core, tasks, autostart=Autostart(platform="linux", command=["x"],
                                                            config_home=core.paths.config))
    window = SettingsWindow(vm)
    qtbot.addWidget(window)
    window.schedule.setPlainText("every day 9 to 5")
    with qtbot.waitSignal(vm.error) as err:
        window.apply_button.click()
    assert "is not like 'Mon-Fri 09:00-17:30'" in err.args[0]
    assert window.message.text() == err.args[0]
    assert not core.paths.config_file.read_text().count("every day")


@pytest.mark.parametrize("blocks", [1, 30, 1000])
def test_the_plan_shows_the_blocks_the_fleet_launches_for_a_manual_choice(core: AppCore, tasks: TaskRunner,
                                                                         blocks: int) -> None:
    """The settings window's "this GPU serves N" is the fleet's own rule (capped at what each GPU fits), not a copy."""
    vm = SettingsViewModel(core, tasks, autostart=Autostart(platform="linux", command=["x"],
                                                            config_home=core.paths.config))
    vm.set_blocks(blocks)
    shown = [int(n) for n in re.findall(r"you chose \d+ blocks in Settings: this GPU serves (\d+)", vm.plan_text())]
    inventory = core.planning_inventory()
    assert inventory is not None
    model = core.catalog.get(vm.draft.model)
    launched = [s.num_blocks for s in build_specs(assess(inventory, model, vm.draft), model, vm.draft, FleetOptions())]
    assert len(shown) == 2 and shown == launched


def test_the_planner_box_says_the_demo_serves_on_the_cpu_on_a_pc_without_a_driver(tmp_path: Path,
                                                                                  tasks: TaskRunner) -> None:
    from farnode_desktop.core.node.factory import TINY_DEMO

    core = make_core(tmp_path / "home", fixture="no_driver.json",
                     settings=Settings(model=TINY_DEMO, new_swarm=True, serve_on_launch=False))
    try:
        core.sampler.sample_once()  # what the core reads at start (here without the runtime the demo serves in)
        text = SettingsViewModel(core, tasks).plan_text()
        assert "on the CPU" in text and "no NVIDIA driver" not in text, text
    finally:
        core.ledger.close()


def test_settings_offer_only_the_models_the_node_runtime_serves(tmp_path: Path, tasks: TaskRunner) -> None:
    """Qwen3 needs the transformers 5 node runtime: with the shipped lock's 4.43.1 it is not in the model list, and
    a Qwen3 already chosen stays listed with the plan saying why it does not start."""
    from farnode_desktop.core.node.runtime_lock import runtime_needs

    core = make_core(tmp_path / "home", settings=Settings(model="Qwen/Qwen3-32B", serve_on_launch=False))
    try:
        core.start()  # reads the settings and the GPUs; a model the runtime cannot serve launches no node
        assert core.fleet.active() == {} or not runtime_needs().transformers.startswith("4.")
        vm = SettingsViewModel(core, tasks)
        offered = [m.name for m in core.catalog.offered(runtime_needs().transformers)]
        assert "meta-llama/Llama-3.3-70B-Instruct" in offered and "bigscience/bloom-560m" in offered
        if runtime_needs().transformers.startswith("4."):
            assert not any(name.startswith("Qwen/") for name in offered)
            assert vm.models == [*offered, "Qwen/Qwen3-32B"]
            assert "Qwen/Qwen3-32B needs the newer node runtime" in vm.plan_text()
            vm.set_model("meta-llama/Llama-3.3-70B-Instruct")
        assert vm.models == offered
    finally:
        core.shutdown(timeout_s=5)
        core.ledger.close()
