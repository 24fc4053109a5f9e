"""Logs: followed live, and no secret shown."""

from __future__ import annotations

import zipfile
from pathlib import Path

from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.events import Event
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.logs_vm import LogsViewModel
from tests.core.earnings.test_wallet import PHRASE_ADDRESS, PHRASE_KEY


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
