"""The provider's wallet, claim ledger and claim factory, opened the way every command opens them."""

from __future__ import annotations

from farnode_desktop.core.earnings.claim_factory import ClaimFactory
from farnode_desktop.core.earnings.keystore import system_keyring
from farnode_desktop.core.earnings.ledger import Ledger
from farnode_desktop.core.earnings.wallet import Wallet
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import SettingsStore


def open_wallet() -> Wallet:
    return Wallet(system_keyring())


def open_ledger() -> Ledger:
    return Ledger(AppPaths.default().ensure().ledger_file)


def claim_factory() -> ClaimFactory:
    """The one factory the desktop app uses too: the chain RPC and chain id come from the settings."""
    return ClaimFactory(SettingsStore(AppPaths.default().config_file).load())
