"""The Logs window: live, redacted lines from the app and each node, and "Export diagnostics"."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtGui import QFont, QHideEvent, QShowEvent, QTextCursor
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from farnode_desktop.ui.icons import app_icon
from farnode_desktop.ui.viewmodels.logs_vm import MAX_LINES, LogsViewModel
from farnode_desktop.ui.windows.style import STYLESHEET, fit_to_screen, label


class LogsWindow(QWidget):
    def __init__(self, vm: LogsViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.setWindowTitle("FarNode · Logs")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(STYLESHEET)
        fit_to_screen(self, 1000, 640)
        root = QVBoxLayout(self)
        root.setContentsMargins(22, 18, 22, 18)
        head = QHBoxLayout()
        head.addWidget(label("Logs", "title"))
        head.addStretch(1)
        self.source = QComboBox()
        self.source.addItems(vm.sources())
        self.source.currentTextChanged.connect(self._source_changed)
        head.addWidget(self.source)
        self.export_button = QPushButton("Export diagnostics…")
        self.export_button.setObjectName("primary")
        self.export_button.clicked.connect(self._export)
        head.addWidget(self.export_button)
        root.addLayout(head)
        root.addWidget(label("Keys, recovery phrases and full wallet addresses are removed from what is shown "
                             "and exported.", "muted"))
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSize(9)
        self.text.setFont(mono)
        root.addWidget(self.text, 1)
        self.status = label("", "muted")
        root.addWidget(self.status)
        vm.lines_added.connect(self._append)
        vm.exported.connect(self.status.setText)
        vm.error.connect(self.status.setText)

    def _source_changed(self, name: str) -> None:
        self.vm.source = name
        self.text.setPlainText("\n".join(self.vm.visible_lines()))
        self.text.moveCursor(QTextCursor.MoveOperation.End)

    def _append(self, lines: list[str]) -> None:
        prefix = None if self.vm.source == "all" else f"[{self.vm.source}]"
        for line in lines:
            if prefix is None or line.startswith(prefix):
                self.text.appendPlainText(line)

    def _export(self) -> None:
        default = Path.home() / f"farnode-diagnostics-{time.strftime('%Y%m%d-%H%M%S')}.zip"
        path, _ = QFileDialog.getSaveFileName(self, "Export diagnostics", str(default), "Zip files (*.zip)")
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        self.status.setText("Exporting…")
        self.vm.export(path)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.vm.follow(True)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.vm.follow(False)
