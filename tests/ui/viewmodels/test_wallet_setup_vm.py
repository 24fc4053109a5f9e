"""The wallet setup view-model on a real AppCore (in-memory keyring): a new wallet is stored only after three of its
words are typed back, the words are dropped afterwards, an import says where its backup lives."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from pytestqt.qtbot import QtBot

from farnode_desktop.devnet.demo import MemoryKeyring
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.wallet_setup_vm import SetupStage, WalletSetupViewModel
from tests.core.earnings.test_wallet import PHRASE_ADDRESS, PHRASE_KEY
from tests.ui.fakes import make_core


def test_a_new_wallet_exists_only_after_its_words_are_typed_back(tmp_path: Path, tasks: TaskRunner,
                                                                 qtbot: QtBot) -> None:
    core = make_core(tmp_path / "home", keystore=MemoryKeyring())
    vm = WalletSetupViewModel(core, tasks)
    created: list[str] = []
    vm.created.connect(created.append)
    try:
        vm.load()
        qtbot.waitUntil(lambda: not vm.busy)
        assert vm.stage is SetupStage.CHOOSE and vm.address is None and vm.words() == ()
        vm.begin_create()
        words = vm.words()
        assert vm.stage is SetupStage.SHOW and len(words) == 12 and core.wallet_address() is None
        vm.written_down()
        assert vm.stage is SetupStage.QUIZ and vm.words() == () and len(vm.quiz_positions) == 3
        first, *rest = vm.quiz_positions
        vm.confirm({first: "wrong", **{p: words[p - 1] for p in rest}})
        assert vm.stage is SetupStage.QUIZ and f"#{first}" in vm.error and "nothing was created" in vm.error
        assert core.wallet_address() is None and not vm.busy  # a wrong word stores nothing
        vm.show_again()
        assert vm.words() == words  # the same words, shown again
        vm.written_down()
        vm.confirm({p: f" {words[p - 1].upper()} " for p in vm.quiz_positions})
        qtbot.waitUntil(lambda: vm.stage is SetupStage.DONE)
        address = Account.from_mnemonic(" ".join(words)).address
        assert vm.address == address == core.wallet_address() and created == [address]
        assert "12 words you wrote down" in vm.backup_note and "lost" in vm.backup_note
        assert vm._phrase is None and vm.words() == ()  # the words are gone from the app
    finally:
        core.ledger.close()


def test_cancel_drops_the_words_and_an_import_names_its_backup(tmp_path: Path, tasks: TaskRunner,
                                                               qtbot: QtBot) -> None:
    core = make_core(tmp_path / "home", keystore=MemoryKeyring())
    vm = WalletSetupViewModel(core, tasks)
    try:
        vm.begin_create()
        vm.cancel()
        assert vm.stage is SetupStage.CHOOSE and vm._phrase is None and core.wallet_address() is None
        vm.import_wallet("key", "0x1234")
        qtbot.waitUntil(lambda: not vm.busy)
        assert "not a private key" in vm.error and vm.stage is SetupStage.CHOOSE
        vm.import_wallet("key", PHRASE_KEY)
        qtbot.waitUntil(lambda: vm.stage is SetupStage.DONE)
        assert vm.address == PHRASE_ADDRESS and vm.backup_note.startswith("the private key you just imported")
        vm.begin_create()  # a wallet exists: no second phrase
        assert vm.stage is SetupStage.DONE and vm.words() == ()

        again = WalletSetupViewModel(core, tasks)  # a later run finds the wallet and says what backs it up
        again.load()
        qtbot.waitUntil(lambda: not again.busy)
        assert again.stage is SetupStage.DONE and again.address == PHRASE_ADDRESS
        assert "recovery phrase, private key or keystore file" in again.backup_note
    finally:
        core.ledger.close()
