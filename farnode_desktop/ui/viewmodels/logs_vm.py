"""Logs: the app's and the nodes' logs followed live, core events as they happen, and the diagnostics export."""

from __future__ import annotations

import collections
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from farnode_desktop.core.diagnostics import export_diagnostics, redact
from farnode_desktop.core.events import Event
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import CoreApi

MAX_LINES = 3000
POLL_MS = 1000


class LogsViewModel(QObject):
    """Follows every *.log under the logs folder while `follow()` is on (only while the window is shown)."""

    lines_added = Signal(list)  # new lines, already shown redacted
    exported = Signal(str)
    error = Signal(str)

    def __init__(self, core: CoreApi, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.lines: collections.deque[str] = collections.deque(maxlen=MAX_LINES)
        self.source = "all"
        self._offsets: dict[Path, int] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)

    def sources(self) -> list[str]:
        folder = self.core.paths.logs
        return ["all", *sorted(p.stem for p in folder.glob("*.log"))] if folder.exists() else ["all"]

    def follow(self, on: bool) -> None:
        if on:
            self.poll()
            self._timer.start()
        else:
            self._timer.stop()

    def poll(self) -> None:
        self.tasks.submit(self._read_new, self._got, key="logs-poll")

    def _read_new(self) -> list[str]:
        """New lines of every log since the last poll (the last 200 of each on the first)."""
        out: list[str] = []
        folder = self.core.paths.logs
        for path in sorted(folder.glob("*.log")) if folder.exists() else []:
            size = path.stat().st_size
            known = self._offsets.get(path)
            first = known is None
            start = max(0, size - 40_000) if known is None else (0 if known > size else known)  # rotated: 0
            if size == start:
                continue
            with path.open("rb") as fh:
                fh.seek(start)
                chunk = fh.read(size - start)
            self._offsets[path] = size
            lines = chunk.decode("utf-8", "replace").splitlines()
            lines = lines[-200:] if first else lines
            out += [f"[{path.stem}] {redact(line)}" for line in lines if line.strip()]
        return out

    def _got(self, lines: object) -> None:
        assert isinstance(lines, list)
        if lines:
            self.lines.extend(lines)
            self.lines_added.emit(lines)

    def on_event(self, event: Event) -> None:
        if event.topic == "gpu.telemetry":
            return
        line = f"[event] {time.strftime('%H:%M:%S', time.localtime(event.at))} {event.topic} {event.source}: " \
               f"{redact(event.reason)}"
        self.lines.append(line)
        self.lines_added.emit([line])

    def visible_lines(self) -> list[str]:
        if self.source == "all":
            return list(self.lines)
        return [ln for ln in self.lines if ln.startswith(f"[{self.source}]")]

    def export(self, target: Path) -> None:
        """Write the redacted diagnostics zip (on a worker: it reads every log and asks the keyring)."""
        def work() -> str:
            statuses = [s.to_json() for s in self.core.node_statuses()]
            inventory = self.core.gpu_inventory()
            extra = {"nodes": statuses, "gpus": inventory.to_json() if inventory else None}
            report = export_diagnostics(self.core.paths, target, extra=extra)
            return f"Saved {report.path} ({len(report.files)} files, keys and addresses removed)"

        self.tasks.submit(work, lambda text: self.exported.emit(str(text)),
                          lambda exc: self.error.emit(f"{exc}"))
