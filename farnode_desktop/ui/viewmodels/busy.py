"""One job for a view-model that shows it busy: run off the GUI thread, then the result or the error in plain words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import SignalInstance

from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.format import error_text


class BusyViewModel(Protocol):
    """A view-model with one job at a time: `busy` while it runs, `error` (plain words) when it failed."""

    busy: bool
    error: str
    tasks: TaskRunner

    @property
    def changed(self) -> SignalInstance: ...


def run_busy(vm: BusyViewModel, fn: Callable[[], object], done: Callable[[object], None]) -> None:
    """Run `fn` through the task runner with `vm` busy; `done(result)` on success, the error's sentence on failure
    (`vm.changed` fires when it starts and when it ends)."""
    vm.busy, vm.error = True, ""
    vm.changed.emit()

    def ok(value: object) -> None:
        vm.busy = False
        done(value)
        vm.changed.emit()

    def failed(exc: BaseException) -> None:
        vm.busy = False
        vm.error = error_text(exc)
        vm.changed.emit()

    vm.tasks.submit(fn, ok, failed)
