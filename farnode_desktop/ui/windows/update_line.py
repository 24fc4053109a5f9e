"""The dashboard's update line, under its header: what update is available, downloading or being prepared, the
node's switch to a new runtime, and a Restart to update button once a new FarNode is staged. Hidden when there is
nothing to say."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from farnode_desktop.ui.viewmodels.update_vm import UpdateViewModel
from farnode_desktop.ui.windows.style import ACCENT, CARD, CARD_BORDER, MUTED, ORANGE, TEXT, state_colour

TONES = {"ready": ACCENT, "busy": state_colour("starting"), "done": state_colour("serving"),
         "problem": state_colour("needs attention")}


class UpdateLine(QFrame):
    """Bound to UpdateViewModel; `restart` is the app's Restart to update (quit with the launcher's code)."""

    def __init__(self, vm: UpdateViewModel, restart: Callable[[], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.setObjectName("updateLine")
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 8, 10, 8)
        row.setSpacing(12)
        lines = QVBoxLayout()
        lines.setSpacing(2)
        self.text = QLabel("")
        self.text.setWordWrap(True)  # a long reason wraps: it never widens the window
        lines.addWidget(self.text)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        lines.addWidget(self.note)
        row.addLayout(lines, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(160)
        row.addWidget(self.progress)
        self.restart = QPushButton("Restart to update")
        self.restart.setObjectName("primary")
        if restart is not None:
            self.restart.clicked.connect(restart)
        row.addWidget(self.restart)
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.clicked.connect(vm.dismiss)
        row.addWidget(self.dismiss)
        vm.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        vm = self.vm
        line = vm.line
        self.setVisible(bool(line))
        tone = TONES.get(vm.tone, ORANGE)
        self.setStyleSheet(f"QFrame#updateLine {{ background: {CARD}; border: 1px solid {CARD_BORDER}; "
                           f"border-left: 4px solid {tone}; border-radius: 8px; }}")
        self.text.setStyleSheet(f"color: {TEXT};")
        self.text.setText(line)
        self.note.setStyleSheet(f"color: {MUTED};")
        self.note.setText(vm.note)
        self.note.setVisible(bool(vm.note))
        self.progress.setVisible(vm.percent is not None)
        self.progress.setValue(vm.percent or 0)
        self.restart.setVisible(bool(vm.staged))
        self.restart.setText(f"Restart to update to {vm.staged}" if vm.staged else "Restart to update")
        self.dismiss.setVisible(vm.dismissable)
