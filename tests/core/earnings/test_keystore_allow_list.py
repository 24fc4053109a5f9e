"""Only the OS keyrings FarNode means (Credential Manager, Keychain, Secret Service, KWallet) may hold the key:
a file-backed plugin such as keyrings.cryptfile, fail, null or a look-alike class is refused and nothing is stored."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import pytest

from farnode_desktop.cli import main
from farnode_desktop.core.earnings.keystore import KeyringUnavailable, require_secure, system_keyring
from farnode_desktop.core.earnings.wallet import Wallet
from tests.core.earnings.test_wallet import PHRASE_KEY
from tests.devnet.helpers import secret_service


class CryptFileKeyring(keyring.backend.KeyringBackend):
    """Stands for keyrings.cryptfile (not installed here): a keyring plugin that keeps secrets in a file."""

    priority = -1  # never picked by keyring's own detection in other tests; only through set_keyring here
    stored: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.stored.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.stored[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.stored.pop((service, username), None)


CryptFileKeyring.__module__ = "keyrings.cryptfile.cryptfile"


class LookAlike(CryptFileKeyring):
    """A plugin whose class claims to be the Secret Service backend: the allow-list checks the class itself."""


LookAlike.__module__ = "keyring.backends.SecretService"
LookAlike.__qualname__ = "Keyring"


class ChainerBackend(keyring.backends.chainer.ChainerBackend):
    """keyring's chainer with the backends it chains given, instead of discovered."""

    priority = -1  # type: ignore[assignment]  # never picked by keyring's own detection

    def __init__(self, *backends: Any) -> None:
        self._chained = list(backends)

    @property
    def backends(self) -> list[Any]:  # type: ignore[override]
        return self._chained


@pytest.fixture
def chosen_keyring() -> Iterator[Any]:
    """Whatever the test sets with keyring.set_keyring, undone afterwards."""
    previous = keyring.get_keyring()
    CryptFileKeyring.stored.clear()
    yield keyring.set_keyring
    keyring.set_keyring(previous)
    CryptFileKeyring.stored.clear()


@pytest.mark.parametrize("make", [CryptFileKeyring, LookAlike, keyring.backends.fail.Keyring,
                                  keyring.backends.null.Keyring], ids=["cryptfile", "look-alike", "fail", "null"])
def test_wallet_import_refuses_a_keyring_that_is_not_an_os_keyring(
    make: type[Any], chosen_keyring: Any, farnode_home: Any, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chosen_keyring(make())
    monkeypatch.setattr("sys.stdin", io.StringIO(PHRASE_KEY + "\n"))
    assert main(["wallet", "import", "--kind", "hex"]) == 1
    err = capsys.readouterr().err
    assert "no secure OS keyring" in err and "nothing was stored" in err and "Traceback" not in err
    assert "never falls back to a file" in err
    assert CryptFileKeyring.stored == {}  # the key never reached the file-backed keyring
    with pytest.raises(KeyringUnavailable):
        system_keyring()


def test_an_injected_file_plugin_is_refused_too() -> None:
    for backend in (CryptFileKeyring(), LookAlike()):
        with pytest.raises(KeyringUnavailable):
            Wallet(backend)


@pytest.mark.keyring
def test_the_real_secret_service_is_accepted_alone_or_in_a_chain(chosen_keyring: Any) -> None:
    from keyring.backends.SecretService import Keyring as SecretServiceKeyring

    real = secret_service()
    chosen_keyring(real)
    assert system_keyring() is real
    chosen_keyring(keyring.backends.chainer.ChainerBackend())  # what keyring picks when several backends are viable
    assert type(system_keyring()) is SecretServiceKeyring
    chain = ChainerBackend(CryptFileKeyring(), real)  # a file plugin ranked first is skipped
    chosen_keyring(chain)
    assert system_keyring() is real
    assert require_secure(chain) is real
    chosen_keyring(ChainerBackend(CryptFileKeyring(), keyring.backends.null.Keyring()))
    with pytest.raises(KeyringUnavailable):
        system_keyring()
