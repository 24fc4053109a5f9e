"""Setting up the payout wallet, backed up before it holds anything: a new wallet's recovery phrase is shown once
and three of its words typed back before its key is stored; an import says where its backup lives."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from PySide6.QtCore import QObject, Signal

from farnode_desktop.core.earnings.recovery import LOSS_WARNING, WRITE_IT_DOWN, RecoveryPhrase
from farnode_desktop.core.earnings.wallet import Wallet
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.busy import run_busy
from farnode_desktop.ui.viewmodels.core_api import CoreApi
from farnode_desktop.ui.viewmodels.format import error_text

__all__ = ["BACKUP_OF", "LOSS_WARNING", "WRITE_IT_DOWN", "SetupStage", "WalletSetupViewModel"]

BACKUP_OF = {
    "created": "the 12 words you wrote down. Keep the paper safe and offline: with it you can restore this wallet "
               "on any PC; without it, a broken or reset PC means the wallet's FAR is lost.",
    "phrase": "the recovery phrase you just imported. Keep it safe and offline: it restores this wallet on any PC.",
    "key": "the private key you just imported (and wherever it came from). Keep a copy safe and offline: it "
           "restores this wallet on any PC.",
    "keystore": "the keystore file you just imported and its password. Keep both safe, off this PC too: together "
                "they restore this wallet.",
    "existing": "whatever you made when this wallet was set up (its recovery phrase, private key or keystore "
                "file). FarNode keeps the key only in your system's keyring.",
}


class SetupStage(Enum):
    CHOOSE = "choose"  # create or import
    SHOW = "show"  # the new phrase on screen, once
    QUIZ = "quiz"  # three of its words typed back
    DONE = "done"  # a wallet exists


class WalletSetupViewModel(QObject):
    """The wallet part of the first run (and of the wallet window when there is no wallet yet)."""

    changed = Signal()
    created = Signal(str)  # the new or imported wallet's address

    def __init__(self, core: CoreApi, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.stage = SetupStage.CHOOSE
        self.address: str | None = None
        self.backup_note = ""
        self.error = ""
        self.busy = False
        self.quiz_positions: tuple[int, ...] = ()
        self._phrase: RecoveryPhrase | None = None

    # -- looking for a wallet -------------------------------------------------------------------------
    def load(self) -> None:
        run_busy(self, self.core.wallet_address, self._known)

    def _known(self, address: object) -> None:
        self.address = address if isinstance(address, str) else None
        if self.address is not None:
            self.stage = SetupStage.DONE
            self.backup_note = self.backup_note or BACKUP_OF["existing"]
        else:
            self.error = self.core.wallet_problem() or ""

    # -- a new wallet ---------------------------------------------------------------------------------
    def begin_create(self) -> None:
        """Make the words (nothing is stored yet) and show them."""
        if self.busy or self.address is not None:
            return
        self._phrase = RecoveryPhrase.new()
        self.stage, self.error = SetupStage.SHOW, ""
        self.changed.emit()

    def words(self) -> tuple[str, ...]:
        """The phrase, only while it is being shown."""
        return self._phrase.words if self._phrase is not None and self.stage is SetupStage.SHOW else ()

    def written_down(self) -> None:
        if self._phrase is None:
            return
        self.quiz_positions = self._phrase.quiz()
        self.stage, self.error = SetupStage.QUIZ, ""
        self.changed.emit()

    def show_again(self) -> None:
        if self._phrase is not None:
            self.stage, self.error = SetupStage.SHOW, ""
            self.changed.emit()

    def cancel(self) -> None:
        """Back to create-or-import; the words are dropped and nothing was stored."""
        self._forget()
        self.stage, self.error, self.quiz_positions = SetupStage.CHOOSE, "", ()
        self.changed.emit()

    def confirm(self, answers: Mapping[int, str]) -> None:
        """Check the typed words; only when they match is the key stored in the keyring."""
        phrase = self._phrase
        if phrase is None or self.busy:
            return
        try:
            phrase.check(answers)
        except FarNodeError as exc:
            self.error = error_text(exc)
            self.changed.emit()
            return
        run_busy(self, lambda: self._wallet().create(phrase), lambda value: self._stored(value, "created"))

    def _stored(self, address: object, kind: str) -> None:
        self._forget()
        self.address = str(address)
        self.stage = SetupStage.DONE
        self.backup_note = BACKUP_OF[kind]
        self.created.emit(self.address)

    def _forget(self) -> None:
        if self._phrase is not None:
            self._phrase.forget()
        self._phrase = None

    # -- importing ------------------------------------------------------------------------------------
    def import_wallet(self, kind: str, secret: str, password: str = "") -> None:
        """kind: key | phrase | keystore. The secret goes straight to the keyring; it is never kept here."""
        def do() -> str:
            wallet = self._wallet()
            if kind == "key":
                return wallet.import_hex(secret)
            if kind == "phrase":
                return wallet.import_mnemonic(secret)
            if kind == "keystore":
                return wallet.import_keystore(secret, password)
            raise FarNodeError(f"unknown import kind {kind!r}")

        run_busy(self, do, lambda value: self._stored(value, kind))

    def _wallet(self) -> Wallet:
        wallet = self.core.wallet()
        if wallet is None:
            raise FarNodeError(self.core.wallet_problem() or "no secure keyring is available for the wallet")
        return wallet
