"""AppCore at Quit: a wallet read stuck on a keyring that never answers is let go at once (the keyring is reached
through DeadlineKeyring), and every later keyring call ends at once with a plain reason."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from tests.core.earnings.test_keyring_deadline import NeverAnswers


def test_quit_lets_a_wallet_read_stuck_on_the_keyring_go(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "home").ensure()
    SettingsStore(paths.config_file).save(Settings(serve_on_launch=False))
    keyring = NeverAnswers()
    core = AppCore(paths, keystore=keyring, sample_gpus=False)
    try:
        answers: list[str | None] = []
        reader = threading.Thread(target=lambda: answers.append(core.wallet_address()), daemon=True)
        reader.start()
        while keyring.calls == 0:
            time.sleep(0.01)
        time.sleep(0.2)
        assert reader.is_alive()  # waiting on the keyring, as behind an unlock prompt nobody sees
        let_go = time.monotonic()
        core.let_go_of_waits()
        reader.join(5)
        assert not reader.is_alive() and time.monotonic() - let_go < 1.0
        assert answers == [None] and "quitting" in (core.wallet_problem() or "")
        assert core.earnings() is None  # a later read does not wait either
        assert keyring.calls == 1
    finally:
        core.ledger.close()
