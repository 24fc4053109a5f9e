"""Settings (draft, planner text, apply restarting only what must), first run (eligibility with reasons),
logs (live, redacted) and the single-instance guard."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.autostart import Autostart
from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.events import Event
from farnode_desktop.core.gpus.eligibility import assess
from farnode_desktop.core.gpus.fleet import FleetOptions, build_specs
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.settings import SettingsStore
from farnode_desktop.ui.single_instance import SingleInstance, server_name
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.firstrun_vm import FirstRunViewModel, marker
from farnode_desktop.ui.viewmodels.logs_vm import LogsViewModel
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel, parse_schedule_text, schedule_text
from farnode_desktop.ui.windows.settings import SettingsWindow
from tests.core.earnings.test_wallet import PHRASE_ADDRESS, PHRASE_KEY
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


def test_first_run_check_gives_a_verdict_per_gpu(tmp_path: Path, tasks: TaskRunner, qtbot: QtBot) -> None:
    core = make_core(tmp_path / "old", fixture="linux_rtx2080ti_driver470.json")
    vm = FirstRunViewModel(core, tasks)
    vm.enter()
    qtbot.waitUntil(lambda: vm.check_result is not None)
    result = vm.check_result
    assert result is not None and not result.ok and not vm.can_continue()
    assert "driver" in result.headline.lower()
    gpu_rows = [r for r in result.rows if r.title.startswith("GPU 0")]
    assert gpu_rows and not gpu_rows[0].ok and gpu_rows[0].what_to_do

    good = make_core(tmp_path / "new")
    vm = FirstRunViewModel(good, tasks)
    vm.enter()
    qtbot.waitUntil(lambda: vm.check_result is not None)
    assert vm.check_result is not None and vm.check_result.ok and vm.can_continue()
    assert [r.ok for r in vm.check_result.rows] == [True, True, True]
    vm.step = 3
    with qtbot.waitSignal(vm.finished):
        vm.next()
    assert marker(good.paths).exists()
    for c in (core, good):
        c.ledger.close()


def test_logs_follow_live_and_show_no_secret(core: AppCore, tasks: TaskRunner, qtbot: QtBot,
                                            tmp_path: Path) -> None:
    log = core.paths.logs / "app.log"
    log.write_text(f"INFO earlier line for {PHRASE_ADDRESS}\n")
    vm = LogsViewModel(core, tasks)
    vm.follow(True)
    qtbot.waitUntil(lambda: any("earlier line" in ln for ln in vm.lines))
    with log.open("a") as fh:
        fh.write(f"DEBUG oops key {PHRASE_KEY}\n")
    qtbot.waitUntil(lambda: any("oops" in ln for ln in vm.lines), timeout=5000)
    vm.follow(False)
    vm.on_event(Event("gpu.paused", "gpu0", "eldenring.exe is using the GPU"))
    text = "\n".join(vm.lines)
    assert PHRASE_KEY[2:] not in text and PHRASE_ADDRESS not in text and "[app] INFO earlier line" in text
    assert vm.lines[-1].endswith("gpu.paused gpu0: eldenring.exe is using the GPU")
    assert "app" in vm.sources()
    target = tmp_path / "diag.zip"
    with qtbot.waitSignal(vm.exported, timeout=10_000) as done:
        vm.export(target)
    assert "keys and addresses removed" in done.args[0]
    with zipfile.ZipFile(target) as zf:
        assert {"logs/app.log", "nodes.json", "gpus.json", "system.json"} <= set(zf.namelist())
        assert PHRASE_KEY[2:] not in zf.read("logs/app.log").decode()


def test_a_second_instance_raises_the_first(qtbot: QtBot) -> None:
    name = server_name("test-" + str(id(qtbot)))
    first = SingleInstance(name)
    assert first.acquire()
    second = SingleInstance(name)
    with qtbot.waitSignal(first.raise_requested, timeout=5000):
        assert not second.acquire()
    first.release()
    third = SingleInstance(name)
    assert third.acquire()  # the first is gone: the next launch runs
    third.release()


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
