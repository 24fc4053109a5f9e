"""The wallet setup panel: create (the recovery phrase shown once, three words typed back) or import, then where
the backup lives. Used by the first-run window and by the wallet window while there is no wallet."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from farnode_desktop.ui.viewmodels.wallet_setup_vm import LOSS_WARNING, WRITE_IT_DOWN, SetupStage, WalletSetupViewModel
from farnode_desktop.ui.windows.style import ORANGE, card, label

ERROR = "#e5484d"
PAGES = (SetupStage.CHOOSE, SetupStage.SHOW, SetupStage.QUIZ, SetupStage.DONE)


class WalletSetupPanel(QWidget):
    """Binds to WalletSetupViewModel. The words are shown as plain labels: not selectable, no copy button."""

    def __init__(self, vm: WalletSetupViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        self.pages = QStackedWidget()
        for build in (self._choose_page, self._show_page, self._quiz_page, self._done_page):
            self.pages.addWidget(build())
        root.addWidget(self.pages, 1)
        self.error = label("", wrap=True)
        self.error.setStyleSheet(f"color: {ERROR};")
        root.addWidget(self.error)
        vm.changed.connect(self.refresh)
        self.refresh()

    # -- pages ----------------------------------------------------------------------------------------
    def _choose_page(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("Your payout wallet", "h2"))
        layout.addWidget(label("Earnings are paid to this wallet. Its key stays in your system's keyring; FarNode "
                               "never writes it to a file. A new wallet comes with 12 recovery words: you write "
                               "them down before it is created, so a broken PC never costs you what you earned.",
                               "muted", wrap=True))
        self.create_button = QPushButton("Create a new wallet")
        self.create_button.setObjectName("primary")
        self.create_button.clicked.connect(self.vm.begin_create)
        layout.addWidget(self.create_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(label("…or import one you already have", "muted"))
        kinds = QHBoxLayout()
        self.kind_group = QButtonGroup(self)
        self.kind_buttons: dict[str, QRadioButton] = {}
        for key, text in (("phrase", "Recovery phrase"), ("key", "Private key"), ("keystore", "Keystore JSON")):
            button = QRadioButton(text)
            button.setChecked(key == "phrase")
            self.kind_group.addButton(button)
            self.kind_buttons[key] = button
            kinds.addWidget(button)
        kinds.addStretch(1)
        layout.addLayout(kinds)
        self.secret = QPlainTextEdit()
        self.secret.setPlaceholderText("type or paste it here")
        self.secret.setFixedHeight(64)
        layout.addWidget(self.secret)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("keystore password")
        layout.addWidget(self.password)
        self.import_button = QPushButton("Import")
        self.import_button.clicked.connect(self._import)
        layout.addWidget(self.import_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        return frame

    def _show_page(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("Write down your recovery phrase", "h2"))
        warning = label(LOSS_WARNING, wrap=True)
        warning.setStyleSheet(f"color: {ORANGE};")
        layout.addWidget(warning)
        layout.addWidget(label(WRITE_IT_DOWN, "muted", wrap=True))
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        self.word_labels: list[QLabel] = []
        for i in range(12):
            word = label("")
            word.setObjectName("phraseword")
            word.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)  # no selecting, no copying
            word.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
            grid.addWidget(word, i % 4, i // 4)
            self.word_labels.append(word)
        layout.addLayout(grid)
        layout.addStretch(1)
        row = QHBoxLayout()
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.vm.cancel)
        self.written_button = QPushButton("I have written them down")
        self.written_button.setObjectName("primary")
        self.written_button.clicked.connect(self.vm.written_down)
        row.addWidget(cancel)
        row.addStretch(1)
        row.addWidget(self.written_button)
        layout.addLayout(row)
        return frame

    def _quiz_page(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("Check your copy", "h2"))
        layout.addWidget(label("Type these words from your paper. The wallet is created only when they match.",
                               "muted", wrap=True))
        self.quiz_grid = QGridLayout()
        self.quiz_labels: list[QLabel] = []
        self.quiz_edits: list[QLineEdit] = []
        for i in range(3):
            caption = label("")
            edit = QLineEdit()
            edit.returnPressed.connect(self._confirm)
            self.quiz_grid.addWidget(caption, i, 0)
            self.quiz_grid.addWidget(edit, i, 1)
            self.quiz_labels.append(caption)
            self.quiz_edits.append(edit)
        layout.addLayout(self.quiz_grid)
        layout.addStretch(1)
        row = QHBoxLayout()
        again = QPushButton("Show the words again")
        again.clicked.connect(self.vm.show_again)
        self.confirm_button = QPushButton("Check and create the wallet")
        self.confirm_button.setObjectName("primary")
        self.confirm_button.clicked.connect(self._confirm)
        row.addWidget(again)
        row.addStretch(1)
        row.addWidget(self.confirm_button)
        layout.addLayout(row)
        return frame

    def _done_page(self) -> QWidget:
        frame, layout = card()
        layout.addWidget(label("Your payout wallet", "h2"))
        self.address_label = label("", wrap=True)
        self.address_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.address_label)
        self.backup_label = label("", "muted", wrap=True)
        layout.addWidget(self.backup_label)
        layout.addStretch(1)
        return frame

    # -- actions --------------------------------------------------------------------------------------
    def _import(self) -> None:
        kind = next(k for k, b in self.kind_buttons.items() if b.isChecked())
        secret = self.secret.toPlainText()
        self.secret.clear()  # the secret is handed over once and not kept in the widget
        self.vm.import_wallet(kind, secret, self.password.text())
        self.password.clear()

    def _confirm(self) -> None:
        answers = {pos: edit.text() for pos, edit in zip(self.vm.quiz_positions, self.quiz_edits, strict=False)}
        self.vm.confirm(answers)

    def refresh(self) -> None:
        vm = self.vm
        self.pages.setCurrentIndex(PAGES.index(vm.stage))
        words = vm.words()
        for i, word in enumerate(self.word_labels):
            word.setText(f"<span style='color:#8aa0b8'>{i + 1:>2}.</span> <b>{words[i]}</b>" if i < len(words)
                         else "")
        for i, (caption, edit) in enumerate(zip(self.quiz_labels, self.quiz_edits, strict=True)):
            shown = i < len(vm.quiz_positions)
            caption.setText(f"Word #{vm.quiz_positions[i]}" if shown else "")
            caption.setVisible(shown)
            edit.setVisible(shown)
            if vm.stage is not SetupStage.QUIZ:
                edit.clear()
        self.address_label.setText(f"Wallet: {vm.address}" if vm.address else "No wallet yet.")
        self.backup_label.setText(f"Your backup is {vm.backup_note}" if vm.backup_note else "")
        for button in (self.create_button, self.import_button, self.confirm_button):
            button.setEnabled(not vm.busy)
        self.error.setText(vm.error)
