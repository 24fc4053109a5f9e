"""The first-run window: four steps with what each found, and Back / Next."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from farnode_desktop.ui.icons import app_icon
from farnode_desktop.ui.viewmodels.firstrun_vm import STEPS, FirstRunViewModel
from farnode_desktop.ui.windows.style import ACCENT, MUTED, STYLESHEET, card, fit_to_screen, label, scrolled
from farnode_desktop.ui.windows.wallet_setup import WalletSetupPanel

OK, NOT_OK = "#2fbf71", "#e5484d"


class FirstRunWindow(QWidget):
    def __init__(self, vm: FirstRunViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.setWindowTitle("Welcome to FarNode")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(STYLESHEET)
        fit_to_screen(self, 860, 600)
        root = QHBoxLayout(self)
        root.setContentsMargins(22, 18, 22, 18)
        root.setSpacing(18)

        side = QVBoxLayout()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(56, 56))
        side.addWidget(logo)
        side.addWidget(label("Set up FarNode", "title"))
        self.step_labels: list[QLabel] = []
        for i, name in enumerate(STEPS):
            step = label(f"{i + 1}  {name}")
            side.addWidget(step)
            self.step_labels.append(step)
        side.addStretch(1)
        root.addLayout(side)

        main = QVBoxLayout()
        self.pages = QStackedWidget()
        self.pages.addWidget(self._check_page())
        self.pages.addWidget(self._runtime_page())
        self.pages.addWidget(self._wallet_page())
        self.pages.addWidget(self._start_page())
        main.addWidget(scrolled(self.pages), 1)  # Back / Next stay outside, always on screen
        self.error = label("", wrap=True)
        self.error.setStyleSheet(f"color: {NOT_OK};")
        main.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.back_button = QPushButton("Back")
        self.back_button.clicked.connect(vm.back)
        self.next_button = QPushButton("Next")
        self.next_button.setObjectName("primary")
        self.next_button.clicked.connect(vm.next)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        main.addLayout(buttons)
        root.addLayout(main, 1)
        vm.changed.connect(self.refresh)
        vm.finished.connect(self.close)
        self.refresh()

    def _check_page(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("Can this PC serve?", "h2"))
        self.check_headline = label("Reading your GPUs…", "muted", wrap=True)
        layout.addWidget(self.check_headline)
        self.check_rows = QVBoxLayout()
        layout.addLayout(self.check_rows)
        layout.addStretch(1)
        again = QPushButton("Check again")
        again.clicked.connect(self.vm.check)
        layout.addWidget(again, 0, Qt.AlignmentFlag.AlignLeft)
        return frame

    def _runtime_page(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("Install the node runtime", "h2"))
        layout.addWidget(label("FarNode serves with its own Python environment (PyTorch and Petals), installed "
                               "once from pinned, hash-checked packages. It takes a few minutes.", "muted",
                               wrap=True))
        self.runtime_bar = QProgressBar()
        self.runtime_bar.setTextVisible(False)
        layout.addWidget(self.runtime_bar)
        self.runtime_line = label("", "muted", wrap=True)
        layout.addWidget(self.runtime_line)
        layout.addStretch(1)
        self.install_button = QPushButton("Install")
        self.install_button.clicked.connect(self.vm.install_runtime)
        layout.addWidget(self.install_button, 0, Qt.AlignmentFlag.AlignLeft)
        return frame

    def _wallet_page(self) -> QWidget:
        self.wallet_panel = WalletSetupPanel(self.vm.wallet_setup)
        return self.wallet_panel

    def _start_page(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("Ready", "h2"))
        layout.addWidget(label("FarNode will start serving now and keep running in the tray. Games come first: "
                               "it pauses by itself when you play, and you can pause it from the tray menu "
                               "at any time.", "muted", wrap=True))
        layout.addStretch(1)
        return frame

    def refresh(self) -> None:
        vm = self.vm
        self.pages.setCurrentIndex(vm.step)
        for i, step in enumerate(self.step_labels):
            colour = ACCENT if i == vm.step else (OK if i < vm.step else MUTED)
            step.setStyleSheet(f"color: {colour}; font-weight: {'600' if i == vm.step else '400'};")
        result = vm.check_result
        if result is not None:
            self.check_headline.setText(result.headline + ("\n" + "\n".join(result.notes) if result.notes else ""))
            while self.check_rows.count():
                item = self.check_rows.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.setParent(None)
                    widget.deleteLater()
            for row in result.rows:
                mark = "✔" if row.ok else "✖"
                text = f"<b>{mark} {row.title}</b><br><span style='color:{MUTED}'>{row.reason}"
                text += f"<br>What to do: {row.what_to_do}" if row.what_to_do else ""
                line = label(text + "</span>", wrap=True)
                line.setStyleSheet(f"color: {OK if row.ok else NOT_OK};")
                self.check_rows.addWidget(line)
        self.runtime_line.setText(vm.runtime_line)
        self.runtime_bar.setRange(0, max(1, vm.runtime_total))
        self.runtime_bar.setValue(vm.runtime_total if vm.runtime_ready else vm.runtime_done)
        self.install_button.setEnabled(not vm.busy and not vm.runtime_ready)
        self.error.setText(vm.error)
        self.back_button.setEnabled(vm.step > 0 and not vm.busy)
        self.next_button.setText("Start serving" if vm.step == len(STEPS) - 1 else "Next")
        self.next_button.setEnabled(vm.can_continue())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.vm.check_result is None and not self.vm.busy:
            self.vm.enter()
