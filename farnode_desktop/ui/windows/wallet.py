"""The Wallet & earnings window: address, the four figures, earnings per day, the claim flow, payout history."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from farnode_desktop.ui.icons import app_icon
from farnode_desktop.ui.viewmodels.format import short_address
from farnode_desktop.ui.viewmodels.wallet_vm import CLAIM_STEPS, STEP_TEXT, WalletViewModel, quote_view
from farnode_desktop.ui.windows.charts import DailyEarningsChart
from farnode_desktop.ui.windows.style import ACCENT, MUTED, STYLESHEET, card, fit_to_screen, label, scrolled, stat
from farnode_desktop.ui.windows.wallet_setup import WalletSetupPanel


class WalletWindow(QWidget):
    """Binds to WalletViewModel; copying the address is the only thing done here (the clipboard is Qt's)."""

    def __init__(self, vm: WalletViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.setWindowTitle("FarNode · Wallet & earnings")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(STYLESHEET)
        fit_to_screen(self, 1040, 820)
        root = QVBoxLayout(self)
        root.setContentsMargins(22, 18, 22, 18)
        root.setSpacing(14)

        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(label("Wallet & earnings", "title"))
        self.address_label = label("", "muted")
        self.address_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        titles.addWidget(self.address_label)
        self.network_label = label("", "muted", wrap=True)  # the pinned FAR token and payout contract
        self.network_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        titles.addWidget(self.network_label)
        self.network_warning = label("", "warning", wrap=True)  # this FarNode is too old to claim there
        self.network_warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.network_warning.hide()
        titles.addWidget(self.network_warning)
        head.addLayout(titles, 1)
        self.copy_button = QPushButton("Copy address")
        self.copy_button.clicked.connect(self.copy_address)
        head.addWidget(self.copy_button)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(vm.refresh)
        head.addWidget(self.refresh_button)
        root.addLayout(head)
        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(0, 0, 6, 0)
        body.setSpacing(12)

        figures = QHBoxLayout()
        figures.setSpacing(14)
        self.figure_labels: list[tuple[QLabel, QLabel]] = []
        for title, value, note in vm.figures():
            frame, big, small = stat(title, value, note)
            figures.addWidget(frame)
            self.figure_labels.append((big, small))
        body.addLayout(figures)

        middle = QHBoxLayout()
        middle.setSpacing(14)
        chart_frame, chart_layout = card()
        chart_layout.addWidget(label("Earned per day", "h2"))
        self.chart = DailyEarningsChart()
        chart_layout.addWidget(self.chart)
        middle.addWidget(chart_frame, 3)

        claim_frame, claim_layout = card()
        claim_layout.addWidget(label("Claim", "h2"))
        self.claim_terms = label("", "muted", wrap=True)
        claim_layout.addWidget(self.claim_terms)
        self.quote_grid = QGridLayout()
        self.quote_values: dict[str, QLabel] = {}
        for row, (key, text) in enumerate((("amount", "Claimable"), ("fee", "Fee"), ("net", "You receive"))):
            self.quote_grid.addWidget(label(text, "muted"), row, 0)
            amount = label("—")
            amount.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.quote_grid.addWidget(amount, row, 1)
            self.quote_values[key] = amount
        claim_layout.addLayout(self.quote_grid)
        self.steps_row = QHBoxLayout()
        self.step_labels: list[QLabel] = []
        for state in CLAIM_STEPS:
            step = label("●")
            step.setToolTip(STEP_TEXT[state])
            step.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.steps_row.addWidget(step)
            self.step_labels.append(step)
        claim_layout.addLayout(self.steps_row)
        captions = QHBoxLayout()
        for text in ("Prepared", "Signed", "Accepted", "Sent", "On chain"):
            caption = label(text, "muted")
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setStyleSheet("font-size: 11px;")
            captions.addWidget(caption)
        claim_layout.addLayout(captions)
        self.claim_message = label("", "muted", wrap=True)
        claim_layout.addWidget(self.claim_message)
        claim_layout.addStretch(1)
        buttons = QHBoxLayout()
        self.review_button = QPushButton("Review claim")
        self.review_button.clicked.connect(vm.request_quote)
        self.confirm_button = QPushButton("Confirm and claim")
        self.confirm_button.setObjectName("primary")
        self.confirm_button.clicked.connect(vm.confirm_claim)
        buttons.addWidget(self.review_button)
        buttons.addWidget(self.confirm_button)
        claim_layout.addLayout(buttons)
        middle.addWidget(claim_frame, 2)
        body.addLayout(middle, 2)

        history_frame, history_layout = card()
        history_layout.addWidget(label("Payouts and the served work they paid for", "h2"))
        self.history = QTreeWidget()
        self.history.setColumnCount(6)
        self.history.setHeaderLabels(["When", "State", "Received", "Fee", "Transaction", "Chain block"])
        self.history.headerItem().setToolTip(5, "The block of the payout chain that holds the payout transaction "
                                                "(not the model blocks your node serves)")
        self.history.setRootIsDecorated(True)
        self.history.setAlternatingRowColors(True)
        history_layout.addWidget(self.history)
        self.history.setMinimumHeight(150)
        body.addWidget(history_frame, 3)
        # No wallet yet: the same setup as the first run (the phrase written down before the wallet exists).
        self.setup_panel = WalletSetupPanel(vm.setup)
        self.body = QStackedWidget()
        self.body.addWidget(scrolled(content))
        self.body.addWidget(scrolled(self.setup_panel))
        root.addWidget(self.body, 1)

        vm.changed.connect(self.show_data)
        vm.claim_changed.connect(self.render_claim)
        vm.error.connect(self.show_error)
        self.show_data()
        self.render_claim()

    def copy_address(self) -> None:
        if self.vm.address:
            QGuiApplication.clipboard().setText(self.vm.address)
            self.copy_button.setText("Copied")

    def show_error(self, text: str) -> None:
        self.claim_message.setText(text)

    def show_data(self) -> None:
        vm = self.vm
        data = vm.data
        if data is None:
            self.address_label.setText("Loading…" if vm.loading else "")
        elif data.address is None:
            self.address_label.setText("No wallet yet: create one below (or import yours)"
                                       + (f" ({data.problem})" if data.problem else ""))
        else:
            self.address_label.setText(data.address)
            self.address_label.setToolTip(f"Payout address {short_address(data.address)}")
        network = data.network if data is not None else None
        self.network_label.setText(network.summary if network is not None else "")
        self.network_warning.setText(network.warning_line if network is not None else "")
        self.network_warning.setVisible(bool(self.network_warning.text()))
        self.network_label.setToolTip(f"FAR token {network.token}\nPayout contract {network.contract}\n{network.chain}"
                                      if network is not None else "")
        self.copy_button.setEnabled(bool(vm.address))
        self.body.setCurrentIndex(1 if data is not None and data.address is None else 0)
        for (big, small), (_, value, note) in zip(self.figure_labels, vm.figures(), strict=True):
            big.setText(value)
            small.setText(note)
        days, unit = vm.daily()
        self.chart.set_days(days, unit)
        self.history.clear()
        for row in data.payouts if data else ():
            tx = f"{row.tx_hash[:10]}…{row.tx_hash[-8:]}" if row.tx_hash else "—"
            item = QTreeWidgetItem([row.when, row.state, row.amount, row.fee, tx, row.block])
            item.setToolTip(4, row.tx_hash or row.reason)
            item.setToolTip(1, row.reason)
            for work in row.work:
                child = QTreeWidgetItem([work.when, f"{work.node} · blocks {work.blocks}",
                                         f"{work.tokens} tokens", work.amount, f"request {work.request_id}", ""])
                for col in range(6):
                    child.setForeground(col, QColor(MUTED))
                item.addChild(child)
            self.history.addTopLevelItem(item)
        first = self.history.topLevelItem(0)
        if first is not None:
            first.setExpanded(True)
        for col in range(6):
            self.history.resizeColumnToContents(col)
        self.render_claim()

    def render_claim(self) -> None:
        vm = self.vm
        e = vm.data.earnings if vm.data else None
        if e is not None:
            from farnode_desktop.ui.viewmodels.format import far

            self.claim_terms.setText(f"Minimum claim {far(e.min_claim, e.decimals, e.symbol)} · fee "
                                     f"{far(e.fee, e.decimals, e.symbol)} per claim, taken from the amount.")
        quote = quote_view(vm.quote) if vm.quote is not None else None
        for key in ("amount", "fee", "net"):
            self.quote_values[key].setText(getattr(quote, key) if quote else "—")
        done = vm.step_index()
        failed = vm.claim_state is not None and vm.claim_state.value in ("rejected", "failed")
        for i, step in enumerate(self.step_labels):
            colour = "#e5484d" if failed else (ACCENT if i < done else MUTED)
            step.setStyleSheet(f"color: {colour}; font-size: 18px;")
        self.claim_message.setText(vm.claim_message)
        has_wallet = bool(vm.address)
        self.review_button.setEnabled(has_wallet and not vm.claiming)
        self.confirm_button.setEnabled(bool(quote and not quote.problem) and not vm.claiming)
