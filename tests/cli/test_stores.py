"""What every command opens: the ledger in the provider's data folder, the claim factory from their settings, and
the wallet only from a secure OS keyring (never a file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from farnode_desktop.cli.stores import claim_factory, open_ledger, open_wallet
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import SettingsStore


@pytest.fixture
def no_secure_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(before)


def test_the_ledger_opens_in_the_providers_data_folder(farnode_home: Path) -> None:
    ledger = open_ledger()
    try:
        assert AppPaths.default().ledger_file.is_file()
        assert AppPaths.default().ledger_file.is_relative_to(farnode_home)
    finally:
        ledger.close()


def test_the_claim_factory_reads_the_providers_settings(farnode_home: Path) -> None:
    store = SettingsStore(AppPaths.default().ensure().config_file)
    settings = store.load()
    settings.coordinator_url = "http://127.0.0.1:9"
    store.save(settings)
    factory = claim_factory()
    assert factory.settings.coordinator_url == "http://127.0.0.1:9"
    assert factory.client().base_url == "http://127.0.0.1:9"


@pytest.mark.usefixtures("no_secure_keyring")
def test_no_secure_keyring_is_a_plain_error_and_nothing_is_written(farnode_home: Path) -> None:
    with pytest.raises(FarNodeError) as refused:
        open_wallet()
    assert "no secure OS keyring" in str(refused.value) and "never falls back to a file" in refused.value.hint
    assert not any(p.is_file() for p in farnode_home.rglob("*"))
