"""The Settings window: model, GPUs, blocks (auto with the planner's reasoning, or manual), pause rules,
coordinator, start at login and log level; applied without restarting the app. Labels, ranges and choices come
from each setting's one declaration (core/settings.py)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRegularExpression, Qt
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

from farnode_desktop.core.settings import SETTINGS, Setting
from farnode_desktop.ui.icons import app_icon
from farnode_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from farnode_desktop.ui.windows.style import STYLESHEET, card, fit_to_screen, label


def _spin_box(setting: Setting) -> QSpinBox:
    """A spin box over a whole-number setting's declared range, with its unit."""
    spin = QSpinBox()
    if setting.low is not None and setting.high is not None:
        spin.setRange(int(setting.low), int(setting.high))
    if setting.unit:
        spin.setSuffix(f" {setting.unit}")
    return spin


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setHorizontalSpacing(16)
    form.setVerticalSpacing(10)
    return form


def _price(text: str) -> float | None:
    """The electricity price typed so far ("" or "." alone: not entered)."""
    return float(text) if text.strip(".") else None


class SettingsWindow(QWidget):
    """Widgets write into the view-model's draft; Apply hands it to the core on a worker."""

    def __init__(self, vm: SettingsViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        d = vm.draft
        self.setWindowTitle("FarNode · Settings")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(STYLESHEET)
        fit_to_screen(self, 860, 900)
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
        form.addRow(SETTINGS["model"].label, self.model)
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
        form.addRow(SETTINGS["excluded_gpus"].label, gpus)
        blocks = QHBoxLayout()
        blocks.setSpacing(16)
        self.blocks_auto = QRadioButton("Automatic")
        self.blocks_manual = QRadioButton("Manual")
        self.blocks_count = _spin_box(SETTINGS["blocks"])
        self.blocks_count.setValue(d.blocks or 8)
        self.blocks_auto.setChecked(d.blocks is None)
        self.blocks_manual.setChecked(d.blocks is not None)
        self.blocks_count.setEnabled(d.blocks is not None)
        for w in (self.blocks_auto, self.blocks_manual, self.blocks_count):
            blocks.addWidget(w)
        blocks.addStretch(1)
        self.blocks_auto.toggled.connect(self._blocks_changed)
        self.blocks_count.valueChanged.connect(self._blocks_changed)
        form.addRow(SETTINGS["blocks"].label, blocks)
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
        self.detect_games = self._check_box(form, SETTINGS["pause.detect_games"])
        self.programs = QPlainTextEdit(vm.programs)
        self.programs.setPlaceholderText("one program a line, e.g. blender.exe")
        self.programs.setFixedHeight(70)
        self.programs.textChanged.connect(lambda: vm.set_programs(self.programs.toPlainText()))
        form.addRow(SETTINGS["pause.programs"].label, self.programs)
        self.schedule = QPlainTextEdit(vm.schedule)
        self.schedule.setPlaceholderText("Mon-Fri 09:00-17:30")
        self.schedule.setFixedHeight(70)
        self.schedule.textChanged.connect(lambda: vm.set_schedule(self.schedule.toPlainText()))
        form.addRow(SETTINGS["pause.schedule"].label, self.schedule)
        self.temperature = self._spin(form, SETTINGS["pause.temperature_limit_c"])
        self.only_when_idle = self._check_box(form, SETTINGS["pause.only_when_idle"])
        self.idle_minutes = self._spin(form, SETTINGS["pause.idle_minutes"])
        self.idle_problem = label("", "muted", wrap=True)  # shown instead of the idle switch where it cannot work
        form.addRow(SETTINGS["pause.only_when_idle"].label, self.idle_problem)
        self._pause_form = form
        layout.addLayout(form)
        root.addWidget(pause)

        app, layout = card()
        layout.addWidget(label("App", "h2"))
        form = _form()
        self.start_at_login = self._check_box(form, SETTINGS["start_at_login"])
        self.electricity_price = self._line(form, SETTINGS["electricity_price_per_kwh"], _price)
        self.electricity_price.setValidator(QRegularExpressionValidator(
            QRegularExpression("[0-9]{0,2}([.][0-9]{0,4})?"), self.electricity_price))
        self.electricity_price.setPlaceholderText("your price per kWh, to see what the GPUs' electricity costs")
        layout.addLayout(form)
        root.addWidget(app)

        # What a gamer never needs to touch: where payouts come from, and how much the logs say.
        advanced, layout = card()
        layout.addWidget(label("Advanced", "h2"))
        layout.addWidget(label("Far Labs' network addresses and the log detail. The defaults work: change them only "
                               "when Far Labs or a guide tells you to.", "muted", wrap=True))
        form = _form()
        self.coordinator = self._line(form, SETTINGS["coordinator_url"], str.strip)
        self.coordinator.setToolTip("The Far Labs service that counts your served work and pays your claims")
        self.chain_rpc = self._line(form, SETTINGS["chain_rpc_url"], str.strip)
        self.chain_rpc.setPlaceholderText("the devnet's, for a coordinator on this PC")
        self.chain_rpc.setToolTip("Your own RPC of the payout chain: payouts are checked and claims signed against it")
        self.chain_id = self._line(form, SETTINGS["chain_id"], lambda t: int(t) if t else None)
        self.chain_id.setPlaceholderText("the network's default")
        self.chain_id.setToolTip("The number of the blockchain FAR is paid on")
        self.chain_id.setValidator(QRegularExpressionValidator(QRegularExpression("[0-9]{0,15}"), self.chain_id))
        self.pinned = label("", "muted", wrap=True)  # what a coordinator cannot change: shown, never edited
        self.pinned.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pinned_warning = label("", "warning", wrap=True)  # this FarNode is too old to claim there
        self.pinned_warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pays_in = QVBoxLayout()
        pays_in.addWidget(self.pinned)
        pays_in.addWidget(self.pinned_warning)
        form.addRow("Pays in", pays_in)
        self.chain_id.textChanged.connect(self._show_pinned)  # another chain id: that chain's pinned token
        self.log_level = self._choice(form, SETTINGS["log_level"])
        layout.addLayout(form)
        root.addWidget(advanced)
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

    # widgets for simple settings, built from their declaration: the row's label, the range, the choices
    def _check_box(self, form: QFormLayout, setting: Setting) -> QCheckBox:
        box = QCheckBox(setting.text)
        box.setChecked(bool(self.vm.value(setting)))
        box.toggled.connect(lambda on: self.vm.set_value(setting, on))
        form.addRow(setting.label, box)
        return box

    def _spin(self, form: QFormLayout, setting: Setting) -> QSpinBox:
        spin = _spin_box(setting)
        value = self.vm.value(setting)
        spin.setValue(value if isinstance(value, int) else spin.minimum())
        spin.valueChanged.connect(lambda v: self.vm.set_value(setting, v))
        form.addRow(setting.label, spin)
        return spin

    def _line(self, form: QFormLayout, setting: Setting, parse: Callable[[str], object]) -> QLineEdit:
        value = self.vm.value(setting)
        line = QLineEdit("" if value is None else str(value))
        line.textChanged.connect(lambda t: self.vm.set_value(setting, parse(t)))
        form.addRow(setting.label, line)
        return line

    def _choice(self, form: QFormLayout, setting: Setting) -> QComboBox:
        combo = QComboBox()
        combo.addItems(list(setting.choices))
        combo.setCurrentText(str(self.vm.value(setting)))
        combo.currentTextChanged.connect(lambda t: self.vm.set_value(setting, t))
        form.addRow(setting.label, combo)
        return combo

    def _blocks_changed(self) -> None:
        manual = self.blocks_manual.isChecked()
        self.blocks_count.setEnabled(manual)
        self.vm.set_blocks(self.blocks_count.value() if manual else None)

    def _show_pinned(self) -> None:
        pinned = self.vm.pinned()
        self.pinned.setText(pinned.summary)
        self.pinned_warning.setText(pinned.warning_line)
        self.pinned_warning.setVisible(bool(pinned.warning_line))
        self.pinned.setToolTip(f"FAR token {pinned.token}\nPayout contract {pinned.contract}\n{pinned.chain}")

    def refresh(self) -> None:
        self.plan.setPlainText(self.vm.plan_text())
        self._show_pinned()
        self.message.setText(self.vm.message)
        self.apply_button.setEnabled(not self.vm.busy)
        problem = self.vm.idle_problem
        for row in (self.only_when_idle, self.idle_minutes):
            self._pause_form.setRowVisible(row, not problem)
        self.idle_problem.setText(problem or "")
        self._pause_form.setRowVisible(self.idle_problem, bool(problem))
