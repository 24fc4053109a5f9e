"""The heartbeat: every half second the core is ticked on a worker and a snapshot reaches the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import CoreApi, Snapshot, take_snapshot

TICK_MS = 500


class Heartbeat(QObject):
    """Ticks the core off the GUI thread; a slow tick is never stacked on another (one job key)."""

    snapshot = Signal(object)  # Snapshot

    def __init__(self, core: CoreApi, tasks: TaskRunner, interval_ms: int = TICK_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.latest = Snapshot()
        self.ticks = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.beat)

    def start(self) -> None:
        self._timer.start()
        self.beat()

    def stop(self) -> None:
        self._timer.stop()

    def beat(self) -> None:
        self.tasks.submit(self._tick, self._deliver, self._failed, key="heartbeat")

    def _tick(self) -> Snapshot:
        self.core.tick()
        return take_snapshot(self.core)

    def _deliver(self, snapshot: object) -> None:
        assert isinstance(snapshot, Snapshot)
        self.ticks += 1
        self.latest = snapshot
        self.snapshot.emit(snapshot)

    def _failed(self, exc: BaseException) -> None:
        # A failing tick is reported once through the task runner's channel, and the beat goes on.
        self.tasks.default_error(exc)
