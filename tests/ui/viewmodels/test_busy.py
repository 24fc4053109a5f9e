"""The view-models' one busy job (first run, wallet setup): busy while it runs off the GUI thread, then the result
or the error's sentence with its hint; `changed` fires at the start and at the end."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.busy import run_busy


class Job(QObject):
    changed = Signal()

    def __init__(self, tasks: TaskRunner) -> None:
        super().__init__()
        self.tasks, self.busy, self.error = tasks, False, "an old error"
        self.seen: list[tuple[bool, str]] = []
        self.changed.connect(lambda: self.seen.append((self.busy, self.error)))


def test_a_busy_job_runs_off_the_gui_thread_and_says_what_failed(qtbot: QtBot) -> None:
    tasks = TaskRunner()
    try:
        vm = Job(tasks)
        got: list[object] = []
        gui = threading.get_ident()
        run_busy(vm, lambda: threading.get_ident(), got.append)
        assert vm.busy and vm.error == ""  # the old error goes as the job starts
        qtbot.waitUntil(lambda: not vm.busy)
        assert got and got[0] != gui and vm.seen == [(True, ""), (False, "")]

        def fail() -> None:
            raise FarNodeError("the keyring is locked", hint="unlock it and try again")

        run_busy(vm, fail, got.append)
        qtbot.waitUntil(lambda: not vm.busy)
        assert vm.error == "the keyring is locked — unlock it and try again" and len(got) == 1
        run_busy(vm, lambda: 1 / 0, got.append)  # not FarNode's own: its words, no hint
        qtbot.waitUntil(lambda: not vm.busy)
        assert vm.error == "division by zero" and vm.seen[-1] == (False, "division by zero")
    finally:
        tasks.close()
