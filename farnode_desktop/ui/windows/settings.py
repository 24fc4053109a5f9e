"""The Settings window: model, GPUs, blocks (auto with the planner's reasoning, or manual), pause rules,
coordinator, start at login and log level; applied without restarting the app."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QFont, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from farnode_desktop.ui.icons import app_icon
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from farnode_desktop.ui.windows.style import STYLESHEET, card, label


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setHorizontalSpacing(16)
    form.setVerticalSpacing(10)
    return form


class SettingsWindow(QWidget):
    """Widgets write into the view-model's draft; Apply hands it to the core on a worker."""

    def __init__(self, vm: SettingsViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        d = vm.draft
        self.setWindowTitle("FarNode · Settings")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(STYLESHEET)
        self.resize(860, 900)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(22, 18, 22, 18)
        outer.addWidget(label("Settings", "title"))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        root = QVBoxLayout(body)
        root.setContentsMargins(0, 0, 8, 0)
        root.setSpacing(14)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        serving, layout = card()
        layout.addWidget(label("Serving", "h2"))
        form = _form()
        self.model = QComboBox()
        self.model.addItems(vm.models)
        self.model.setCurrentText(d.model)
        self.model.currentTextChanged.connect(vm.set_model)
        form.addRow("Model", self.model)
        gpus = QVBoxLayout()
        self.gpu_boxes: dict[str, QCheckBox] = {}
        for choice in vm.gpus():
            box = QCheckBox(choice.label)
            box.setChecked(choice.included)
            box.toggled.connect(lambda on, u=choice.uuid: vm.set_gpu(u, on))
            gpus.addWidget(box)
            self.gpu_boxes[choice.uuid] = box
        if not self.gpu_boxes:
            gpus.addWidget(label("No NVIDIA GPU found", "muted"))
        form.addRow("GPUs that serve", gpus)
        blocks = QHBoxLayout()
        self.blocks_auto = QRadioButton("Automatic")
        self.blocks_manual = QRadioButton("Manual")
        self.blocks_count = QSpinBox()
        self.blocks_count.setRange(1, 1000)
        self.blocks_count.setValue(d.blocks or 8)
        self.blocks_auto.setChecked(d.blocks is None)
        self.blocks_manual.setChecked(d.blocks is not None)
        self.blocks_count.setEnabled(d.blocks is not None)
        for w in (self.blocks_auto, self.blocks_manual, self.blocks_count):
            blocks.addWidget(w)
        blocks.addStretch(1)
        self.blocks_auto.toggled.connect(self._blocks_changed)
        self.blocks_count.valueChanged.connect(self._blocks_changed)
        form.addRow("Blocks", blocks)
        layout.addLayout(form)
        self.plan = QPlainTextEdit()
        self.plan.setReadOnly(True)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSize(9)
        self.plan.setFont(mono)
        self.plan.setMinimumHeight(230)
        layout.addWidget(label("How the planner chose the blocks", "muted"))
        layout.addWidget(self.plan)
        root.addWidget(serving)

        pause, layout = card()
        layout.addWidget(label("Pause rules", "h2"))
        form = _form()
        self.detect_games = QCheckBox("Pause when a game or another program uses the GPU")
        self.detect_games.setChecked(d.pause.detect_games)
        self.detect_games.toggled.connect(lambda on: setattr(vm.draft.pause, "detect_games", on))
        form.addRow("Games first", self.detect_games)
        self.programs = QPlainTextEdit(vm.programs)
        self.programs.setPlaceholderText("one program a line, e.g. blender.exe")
        self.programs.setFixedHeight(70)
        self.programs.textChanged.connect(lambda: setattr(vm, "programs", self.programs.toPlainText()))
        form.addRow("Also pause for", self.programs)
        self.schedule = QPlainTextEdit(vm.schedule)
        self.schedule.setPlaceholderText("Mon-Fri 09:00-17:30")
        self.schedule.setFixedHeight(70)
        self.schedule.textChanged.connect(lambda: setattr(vm, "schedule", self.schedule.toPlainText()))
        form.addRow("Paused on schedule", self.schedule)
        self.temperature = QSpinBox()
        self.temperature.setRange(40, 110)
        self.temperature.setSuffix(" °C")
        self.temperature.setValue(d.pause.temperature_limit_c)
        self.temperature.valueChanged.connect(lambda v: setattr(vm.draft.pause, "temperature_limit_c", v))
        form.addRow("Pause above", self.temperature)
        layout.addLayout(form)
        root.addWidget(pause)

        app, layout = card()
        layout.addWidget(label("Network and app", "h2"))
        form = _form()
        self.coordinator = QLineEdit(d.coordinator_url)
        self.coordinator.textChanged.connect(lambda t: setattr(vm.draft, "coordinator_url", t.strip()))
        form.addRow("Coordinator", self.coordinator)
        self.chain_rpc = QLineEdit(d.chain_rpc_url)
        self.chain_rpc.setPlaceholderText("the devnet's, for a coordinator on this PC")
        self.chain_rpc.setToolTip("Your own RPC of the payout chain: payouts are checked and claims signed against it")
        self.chain_rpc.textChanged.connect(lambda t: setattr(vm.draft, "chain_rpc_url", t.strip()))
        form.addRow("Chain RPC", self.chain_rpc)
        self.chain_id = QLineEdit("" if d.chain_id is None else str(d.chain_id))
        self.chain_id.setPlaceholderText("the network's default")
        self.chain_id.setValidator(QRegularExpressionValidator(QRegularExpression("[0-9]{0,15}"), self.chain_id))
        self.chain_id.textChanged.connect(lambda t: setattr(vm.draft, "chain_id", int(t) if t else None))
        form.addRow("Chain id", self.chain_id)
        self.start_at_login = QCheckBox("Start FarNode when I log in")
        self.start_at_login.setChecked(d.start_at_login)
        self.start_at_login.toggled.connect(lambda on: setattr(vm.draft, "start_at_login", on))
        form.addRow("Start at login", self.start_at_login)
        self.log_level = QComboBox()
        self.log_level.addItems(list(vm.log_levels))
        self.log_level.setCurrentText(d.log_level)
        self.log_level.currentTextChanged.connect(lambda t: setattr(vm.draft, "log_level", t))
        form.addRow("Log level", self.log_level)
        layout.addLayout(form)
        root.addWidget(app)
        root.addStretch(1)

        bottom = QHBoxLayout()
        self.message = label("", "muted", wrap=True)
        bottom.addWidget(self.message, 1)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("primary")
        self.apply_button.clicked.connect(vm.apply)
        bottom.addWidget(self.apply_button)
        outer.addLayout(bottom)

        vm.changed.connect(self.refresh)
        vm.error.connect(self.message.setText)
        self.refresh()

    def _blocks_changed(self) -> None:
        manual = self.blocks_manual.isChecked()
        self.blocks_count.setEnabled(manual)
        self.vm.set_blocks(self.blocks_count.value() if manual else None)

    def refresh(self) -> None:
        self.plan.setPlainText(self.vm.plan_text())
        self.message.setText(self.vm.message)
        self.apply_button.setEnabled(not self.vm.busy)
