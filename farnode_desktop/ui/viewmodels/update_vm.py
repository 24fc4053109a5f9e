"""The app update as the tray shows it: the download's progress while FarNode stages a new version on the update
thread, then "Restart to update" once one is staged (the launcher applies it at that start)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from farnode_desktop.core.events import Event
from farnode_desktop.ui.viewmodels.tray_vm import Notice


class UpdateViewModel(QObject):
    """`percent` (None: no download under way) and `staged` (a version ready for Restart to update)."""

    changed = Signal()
    notify = Signal(object)  # Notice

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.percent: int | None = None
        self.version: str | None = None
        self.staged: str | None = None

    @property
    def progress_text(self) -> str:
        """'Updating to 0.2.0  ■■■■□□□□□□  37%': a bar the tray menu can show (menus there hold text only)."""
        if self.percent is None:
            return ""
        filled = self.percent // 10
        return f"Updating to {self.version}  {'■' * filled}{'□' * (10 - filled)}  {self.percent}%"

    @property
    def restart_label(self) -> str:
        return f"Restart to update to FarNode {self.staged}" if self.staged else ""

    def on_event(self, event: Event) -> None:
        data = event.data
        if event.topic == "update.progress":
            percent = int(data.get("percent", 0))
            self.version, self.percent = str(data.get("version")), (percent if percent < 100 else None)
        elif event.topic == "update.staged":
            self.percent, self.staged = None, str(data.get("version"))
            self.notify.emit(Notice("Update ready", f"FarNode {self.staged} is ready: choose Restart to update in "
                                                    f"the tray menu, or it runs at the next start"))
        elif event.topic == "update.problem" and self.percent is not None:
            self.percent = None  # the download stopped: the running version carries on
        else:
            return
        self.changed.emit()
