"""The updates as the tray and the dashboard show them: a new FarNode available, its download's progress, then
"Restart to update" once it is staged (the launcher applies it at that start); and a new node runtime being
prepared beside the current one, the node's switch onto it, and what went wrong, in one line."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from farnode_desktop.core.events import Event
from farnode_desktop.ui.viewmodels.tray_vm import Notice

RUNTIME_LINES = {  # the node runtime's update, by stage, as the dashboard's line says it
    "published": "Node runtime update available",
    "preparing": "Node runtime update: preparing it in the background",
    "switching": "Node runtime update: your node finishes its requests, then restarts once on the new runtime",
    "done": "Node runtime updated",
}
PREPARING_STEP = "preparing the new node runtime: "  # how RuntimeUpdater tells each step of preparing


class UpdateViewModel(QObject):
    """`percent` (None: no download under way), `staged` (a version ready for Restart to update), and the node
    runtime's update (`runtime_stage`, `runtime_detail`); `line`/`tone` are what the dashboard shows."""

    changed = Signal()
    notify = Signal(object)  # Notice

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.percent: int | None = None
        self.version: str | None = None
        self.staged: str | None = None
        self.runtime_stage: str | None = None  # published, preparing, switching, done, problem
        self.runtime_detail = ""
        self.runtime_note = ""  # what the publisher adds (the demo: it updates the node runtime only)
        self.problem = ""  # the last update that stopped, in words (cleared by dismiss or the next step)

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

    # ----- the dashboard's line -----
    @property
    def line(self) -> str:
        """One sentence for the dashboard: the app's update first (it asks something of the provider), else the
        runtime's; "" when there is nothing to say."""
        if self.staged:
            return f"FarNode {self.staged} is ready: restart to update now, or it runs from the next start"
        if self.percent is not None:
            return f"FarNode {self.version} is downloading in the background: {self.percent}%"
        if self.problem:
            return self.problem[0].upper() + self.problem[1:]
        if self.runtime_stage in RUNTIME_LINES:
            line = RUNTIME_LINES[self.runtime_stage]
            return f"{line} ({self.runtime_detail})" if self.runtime_detail else line
        return ""

    @property
    def note(self) -> str:
        """A second, quieter line while a runtime update is told (the demo says what it does not update)."""
        return self.runtime_note if self.runtime_stage and not self.staged and self.percent is None else ""

    @property
    def tone(self) -> str:
        """How the line is coloured: ready (an action waits), busy, done, problem; "" when hidden."""
        if self.staged:
            return "ready"
        if self.percent is not None:
            return "busy"
        if self.problem:
            return "problem"
        if self.runtime_stage == "done":
            return "done"
        return "busy" if self.runtime_stage else ""

    @property
    def dismissable(self) -> bool:
        return not self.staged and self.percent is None and (bool(self.problem) or self.runtime_stage == "done")

    def dismiss(self) -> None:
        """The provider has read the outcome: the line goes until the next update."""
        if self.dismissable:
            self.problem = ""
            if self.runtime_stage == "done":
                self.runtime_stage, self.runtime_detail, self.runtime_note = None, "", ""
            self.changed.emit()

    def on_event(self, event: Event) -> None:
        data = event.data
        if event.topic == "update.available":
            self.version, self.percent, self.problem = str(data.get("version")), 0, ""
        elif event.topic == "update.progress":
            percent = int(data.get("percent", 0))
            self.version, self.percent = str(data.get("version")), (percent if percent < 100 else None)
        elif event.topic == "update.staged":
            self.percent, self.staged = None, str(data.get("version"))
            self.notify.emit(Notice("Update ready", f"FarNode {self.staged} is ready: choose Restart to update in "
                                                    f"the tray menu, or it runs at the next start"))
        elif event.topic == "update.runtime":
            self._runtime(event)
        elif event.topic == "update.problem" and (self.percent is not None or data.get("runtime")):
            self.percent = None  # the download stopped: the running version carries on
            if data.get("runtime"):
                self.runtime_stage = "problem"
            self.problem = event.reason
        else:
            return
        self.changed.emit()

    def _runtime(self, event: Event) -> None:
        stage = str(event.data.get("stage") or "")
        if stage not in RUNTIME_LINES:
            return
        self.problem = ""
        if stage == "published":
            self.runtime_detail = str(event.data.get("change") or "")
            self.runtime_note = str(event.data.get("note") or "")
        elif stage == "preparing":
            step = event.reason.partition(PREPARING_STEP)[2]  # "preparing the new node runtime: getting: six"
            if step:
                self.runtime_detail = step
        elif stage == "done":
            changed = event.data.get("changed") or []
            count = len(changed) if isinstance(changed, list) else 0
            self.runtime_detail = f"{count} package{'' if count == 1 else 's'} changed" if count else ""
            self.notify.emit(Notice("Node runtime updated", "Your node runs on the new node runtime"))
        else:
            self.runtime_detail = ""
        self.runtime_stage = stage
