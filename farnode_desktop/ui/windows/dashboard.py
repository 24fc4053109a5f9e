"""The dashboard window: a card per GPU with its node and its own pause, and served tokens/s over an hour or day."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from farnode_desktop.ui.icons import app_icon
from farnode_desktop.ui.viewmodels.dashboard_vm import (
    FACT_HELP,
    DashboardViewModel,
    NodeCard,
    PauseControl,
    outlook_lines,
    point_text,
)
from farnode_desktop.ui.viewmodels.tray_vm import TrayViewModel
from farnode_desktop.ui.viewmodels.update_vm import UpdateViewModel
from farnode_desktop.ui.windows.charts import ThroughputChart
from farnode_desktop.ui.windows.style import (
    MUTED,
    STYLESHEET,
    bar,
    card,
    fit_to_screen,
    label,
    pill,
    scrolled,
    set_pill,
    state_colour,
)
from farnode_desktop.ui.windows.update_line import UpdateLine

PauseClicked = Callable[[QPushButton, PauseControl], None]


def pause_row(control: PauseControl, on_click: PauseClicked | None) -> QHBoxLayout:
    """The card's foot: until when the provider paused this GPU, and its Pause / Resume button."""
    row = QHBoxLayout()
    note = label(control.note, wrap=True)
    note.setStyleSheet(f"color: {state_colour('paused')}; font-weight: 600;")
    row.addWidget(note, 1)
    button = QPushButton(control.button_text)
    button.setProperty("gpuPause", control.gpu)
    if control.paused_until is not None:
        button.setObjectName("primary")  # resuming is the one thing the provider came here to do
    button.setEnabled(control.enabled)
    if on_click is not None:
        button.clicked.connect(lambda: on_click(button, control))
    row.addWidget(button, 0, Qt.AlignmentFlag.AlignRight)
    return row


def node_card_widget(data: NodeCard, on_pause: PauseClicked | None = None) -> QFrame:
    frame, layout = card()
    frame.setObjectName("card")
    frame.setProperty("cardKey", data.key)
    top = QHBoxLayout()
    titles = QVBoxLayout()
    titles.setSpacing(2)
    titles.addWidget(label(data.title, "h2"))
    sub = data.subtitle + ("" if data.live or not data.readings else " · readings stale")
    titles.addWidget(label(sub, "muted"))
    top.addLayout(titles, 1)
    top.addWidget(pill(data.state_text, data.state), 0, Qt.AlignmentFlag.AlignTop)
    layout.addLayout(top)
    reason = label(data.reason, wrap=True)
    reason.setStyleSheet(f"color: {state_colour(data.state) if data.state == 'needs attention' else MUTED};")
    layout.addWidget(reason)
    if data.hint:
        layout.addWidget(label("What to do: " + data.hint, "muted", wrap=True))
    if data.readings:
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(6)
        for row, reading in enumerate(data.readings):
            grid.addWidget(label(reading.label, "muted"), row, 0)
            if reading.fraction is not None:
                grid.addWidget(bar(reading.fraction), row, 1)
            grid.addWidget(label(reading.value), row, 2)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
    facts = QGridLayout()
    facts.setHorizontalSpacing(18)
    facts.setVerticalSpacing(4)
    for i, (name, text) in enumerate(data.facts):
        cell = QVBoxLayout()
        cell.setSpacing(0)
        name_label = label(name, "muted")
        cell.addWidget(name_label)
        v = label(text)
        v.setStyleSheet("font-weight: 600;")
        for widget in (name_label, v):
            widget.setToolTip(FACT_HELP.get(name, ""))
        cell.addWidget(v)
        facts.addLayout(cell, i // 3, i % 3)
    layout.addLayout(facts)
    layout.addStretch(1)
    if data.pause is not None:
        layout.addLayout(pause_row(data.pause, on_pause))
    return frame


class DashboardWindow(QWidget):
    """Binds to DashboardViewModel (cards, chart) and, when given, the tray's controls (start, stop, pause)."""

    closing = Signal()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        super().closeEvent(event)

    def __init__(self, vm: DashboardViewModel, controls: TrayViewModel | None = None,
                 parent: QWidget | None = None, update: UpdateViewModel | None = None,
                 restart: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.controls = controls
        # One menu per GPU, owned by the window: cards are rebuilt on every snapshot, an open menu must survive.
        self.pause_menus: dict[int, QMenu] = {}
        self.setWindowTitle("FarNode · Dashboard")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(STYLESHEET)
        fit_to_screen(self, 1100, 760)
        root = QVBoxLayout(self)
        root.setContentsMargins(22, 18, 22, 18)
        root.setSpacing(14)

        head = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(36, 36))
        head.addWidget(logo)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(label("FarNode", "title"))
        self.headline = label("", "muted")
        titles.addWidget(self.headline)
        head.addLayout(titles, 1)
        self.state_pill = pill("Stopped", "stopped")
        head.addWidget(self.state_pill)
        self.start_stop = QPushButton("Start serving")
        self.start_stop.setObjectName("primary")
        head.addWidget(self.start_stop)
        root.addLayout(head)
        # what update is on its way (hidden when none), and Restart to update once a new FarNode is staged
        self.update_line = UpdateLine(update or UpdateViewModel(self), restart)
        root.addWidget(self.update_line)

        # Below the header, one scroll area: on a 1366x768 laptop the cards, the chart and the outlook scroll
        # together, each at its full height, while the header and its button stay on screen.
        body_host = QWidget()
        body = QVBoxLayout(body_host)
        body.setContentsMargins(0, 0, 6, 0)
        body.setSpacing(14)
        self.cards_host = QWidget()
        self.cards_grid = QGridLayout(self.cards_host)
        self.cards_grid.setContentsMargins(0, 0, 0, 0)
        self.cards_grid.setSpacing(14)
        # the cards keep their own height; room left over goes to the chart, not to a stretched, empty card
        self.cards_host.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        body.addWidget(self.cards_host)
        root.addWidget(scrolled(body_host), 1)

        chart_frame, chart_layout = card()
        row = QHBoxLayout()
        row.addWidget(label("Served tokens/s", "h2"))
        row.addStretch(1)
        self.range_group = QButtonGroup(self)
        self.range_buttons: dict[str, QPushButton] = {}
        for name, text in (("hour", "Last hour"), ("day", "Last day")):
            button = QPushButton(text)
            button.setObjectName("segment")
            button.setCheckable(True)
            button.setChecked(name == vm.range)
            button.clicked.connect(self._ranger(name))
            self.range_group.addButton(button)
            self.range_buttons[name] = button
            row.addWidget(button)
        chart_layout.addLayout(row)
        self.chart = ThroughputChart()
        chart_layout.addWidget(self.chart)
        self.chart_note = label("", "muted", wrap=True)  # wraps: a long note must not widen the window
        chart_layout.addWidget(self.chart_note)
        beside = QHBoxLayout()  # the outlook beside the chart: it costs no height on a 768-pixel screen
        beside.setSpacing(14)
        beside.addWidget(chart_frame, 3)
        beside.addWidget(self._outlook_card(), 1)
        body.addLayout(beside)

        vm.cards_changed.connect(self.render_cards)
        vm.chart_changed.connect(self.render_chart)
        vm.outlook_changed.connect(self.render_outlook)
        if controls is not None:
            self.start_stop.clicked.connect(controls.start_stop)
            controls.changed.connect(self.render_controls)
        else:
            self.start_stop.hide()
        self.render_cards()
        self.render_chart()
        self.render_controls()

    def _outlook_card(self) -> QFrame:
        """What this PC can expect a day, its basis, and the GPUs' electricity (from the forecast, not a guess)."""
        frame, layout = card()
        layout.addWidget(label("Expected earnings", "h2"))
        self.forecast_range = label("", "title")
        layout.addWidget(self.forecast_range)
        self.forecast_basis = label("", "muted", wrap=True)
        layout.addWidget(self.forecast_basis)
        layout.addWidget(label("Electricity", "h2"))
        self.electricity = label("", "muted", wrap=True)
        layout.addWidget(self.electricity)
        layout.addStretch(1)
        self.render_outlook()
        return frame

    def render_outlook(self) -> None:
        expected, basis, power = outlook_lines(self.vm.outlook)
        self.forecast_range.setText(expected)
        self.forecast_basis.setText(basis)
        self.electricity.setText(power or "not measured yet: the GPUs' power is read while FarNode runs")

    def _ranger(self, name: str) -> object:
        return lambda: self.vm.set_range(name)

    def render_controls(self) -> None:
        if self.controls is not None:
            self.start_stop.setText(self.controls.start_stop_label)
            self.start_stop.setEnabled(not self.controls.busy)

    def pause_menu(self, control: PauseControl) -> QMenu:
        """The GPU's pause menu, its items labelled with what each pause costs this GPU now."""
        menu = self.pause_menus.get(control.gpu)
        if menu is None:
            menu = QMenu(self)
            menu.setObjectName(f"pauseGpu{control.gpu}")
            for key, _ in control.choices:
                action = menu.addAction(key)
                action.setData(key)
                action.triggered.connect(self._pauser(control.gpu, key))
            self.pause_menus[control.gpu] = menu
        for action, (_, text) in zip(menu.actions(), control.choices, strict=True):
            action.setText(text)
        return menu

    def _pauser(self, gpu: int, choice: str) -> Callable[[], None]:
        return lambda: self.vm.pause_gpu(gpu, choice)

    def _pause_clicked(self, button: QPushButton, control: PauseControl) -> None:
        if control.paused_until is not None:
            self.vm.resume_gpu(control.gpu)
        else:
            # popup, not QPushButton.setMenu: a nested exec would hold the button while a snapshot rebuilds the card
            self.pause_menu(control).popup(button.mapToGlobal(button.rect().bottomLeft()))

    def render_cards(self) -> None:
        while self.cards_grid.count():
            item = self.cards_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.setParent(None)
                widget.deleteLater()
        cards = self.vm.cards
        if not cards:
            empty, layout = card()
            layout.addWidget(label("No node yet", "h2"))
            layout.addWidget(label("FarNode found no GPU that can serve and no demo node. Open Settings or run "
                                   "the first-run check to see why.", "muted", wrap=True))
            self.cards_grid.addWidget(empty, 0, 0)
        columns = 2 if len(cards) > 1 else 1
        for i, data in enumerate(cards):
            self.cards_grid.addWidget(node_card_widget(data, self._pause_clicked), i // columns, i % columns)
            if data.pause is not None and data.pause.gpu in self.pause_menus:
                self.pause_menu(data.pause)  # an open menu follows the GPU's current cost
        self.headline.setText(self.vm.headline)
        set_pill(self.state_pill, self.vm.state_text, self.vm.state.value)

    def render_chart(self) -> None:
        from farnode_desktop.ui.viewmodels.dashboard_vm import RANGES

        span = RANGES[self.vm.range]
        self.chart.set_points(self.vm.series, span, describe=point_text)
        for name, button in self.range_buttons.items():
            button.setChecked(name == self.vm.range)
        self.chart_note.setText(self.vm.chart_note)
