"""First run: the eligibility check gives a verdict per GPU, with its reasons."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.firstrun_vm import FirstRunViewModel, marker
from tests.ui.fakes import make_core


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
