"""The wallet against a real Secret Service (gnome-keyring): create, import, sign, export, delete; bad keys,
phrases and keystores; insecure and locked keyrings refused with a plain error."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from eth_account import Account

from farnode_desktop.core.earnings.eip712 import Domain, payout_claim_message, recover_signer
from farnode_desktop.core.earnings.keystore import KeyringUnavailable, require_secure
from farnode_desktop.core.earnings.network import PinnedNetwork, PinnedNetworks
from farnode_desktop.core.earnings.recovery import RecoveryPhrase
from farnode_desktop.core.earnings.signing_policy import WalletPolicy
from farnode_desktop.core.earnings.wallet import KEY_ENTRY, NoWallet, Wallet
from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.events import EventBus, EventLog
from tests.devnet.helpers import secret_service

# The well-known development phrase (Hardhat/Anvil), and the address of its first account.
PHRASE = "test test test test test test test test test test test junk"
PHRASE_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
PHRASE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


@pytest.fixture
def backend() -> Any:
    return secret_service()


@pytest.fixture
def service_name(backend: Any) -> Iterator[str]:
    name = f"FarNode test wallet {uuid.uuid4().hex}"
    yield name
    for entry in (KEY_ENTRY, "address"):
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            backend.delete_password(name, entry)


# what the wallet's policy pins in these tests: chain 1337, payout contract 0x1111... (tests/core/earnings/
# test_network.py checks the policy itself)
PINNED = PinnedNetworks((PinnedNetwork(1337, "test", "http://127.0.0.1:1", "http://127.0.0.1:2", "0x" + "11" * 20,
                                       "0x" + "11" * 20, local=True),))


@pytest.fixture
def wallet(backend: Any, service_name: str) -> Wallet:
    return Wallet(backend, service=service_name, policy=WalletPolicy(lambda: PINNED))


def _claim(address: str) -> dict[str, Any]:
    return payout_claim_message(
        Domain(1337, "0x" + "11" * 20), address, amount=5, fee=1, nonce=0, deadline=int(time.time()) + 600
    )


@pytest.mark.keyring
def test_create_keeps_the_key_in_the_keyring_and_signs(
    wallet: Wallet, backend: Any, service_name: str
) -> None:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    wallet._bus = bus
    phrase = RecoveryPhrase.new()
    address = wallet.create(phrase)
    assert wallet.exists() and wallet.address() == address
    stored = backend.get_password(service_name, KEY_ENTRY)
    assert Account.from_key(stored).address == address
    # the phrase shown to the provider is the wallet's backup: it gives back the very same key
    assert Account.from_mnemonic(phrase.reveal()).key.to_0x_hex() == stored
    assert phrase.reveal() not in json.dumps(log.events[0].data) and "hidden" in repr(phrase)
    assert recover_signer(_claim(address), wallet.sign_typed_data(_claim(address))) == address
    assert log.topics() == ["wallet.created"] and stored not in json.dumps(log.events[0].data)
    assert not any(isinstance(v, str) and stored[2:] in v for v in vars(wallet).values())


@pytest.mark.keyring
@pytest.mark.parametrize(
    "secret", [PHRASE_KEY, PHRASE_KEY[2:], "  " + PHRASE_KEY.upper().replace("0X", "0x") + "\n"]
)
def test_import_a_hex_key_with_or_without_0x(wallet: Wallet, secret: str) -> None:
    assert wallet.import_hex(secret) == PHRASE_ADDRESS


@pytest.mark.keyring
@pytest.mark.parametrize(
    ("secret", "why"),
    [
        (PHRASE_KEY[:-1], "64 hex digits"),
        (PHRASE_KEY[:-1] + "g", "64 hex digits"),
        ("0x" + "00" * 32, "outside the range"),
        ("0x" + "ff" * 32, "outside the range"),
    ],
)
def test_bad_hex_keys_are_refused_without_echoing_them(wallet: Wallet, secret: str, why: str) -> None:
    with pytest.raises(UserInputError) as err:
        wallet.import_hex(secret)
    assert why in str(err.value) and secret.strip()[4:] not in str(err.value) + err.value.hint
    # no chained exception (which a crash report would print) carries the input
    assert err.value.__cause__ is None and (err.value.__context__ is None or err.value.__suppress_context__)
    assert not wallet.exists()


@pytest.mark.keyring
def test_import_a_recovery_phrase(wallet: Wallet) -> None:
    assert wallet.import_mnemonic("  " + PHRASE.upper() + " ") == PHRASE_ADDRESS


@pytest.mark.keyring
@pytest.mark.parametrize(
    ("phrase", "why"),
    [
        (PHRASE.replace("junk", "test"), "checksum does not match"),  # a valid word, wrong checksum
        (PHRASE.replace("junk", "junkk"), "word 12 "),
        ("test " * 11, "this one has 11"),
    ],
)
def test_bad_recovery_phrases_are_refused_with_where_not_what(wallet: Wallet, phrase: str, why: str) -> None:
    with pytest.raises(UserInputError) as err:
        wallet.import_mnemonic(phrase)
    assert why in str(err.value)
    assert "junkk" not in str(err.value) and not wallet.exists()


@pytest.mark.keyring
def test_import_a_keystore_and_refuse_a_wrong_password(wallet: Wallet) -> None:
    keystore = json.dumps(Account.encrypt(PHRASE_KEY, "correct horse", kdf="scrypt", iterations=2**10))
    with pytest.raises(UserInputError, match="password is wrong"):
        wallet.import_keystore(keystore, "wrong")
    assert not wallet.exists()
    with pytest.raises(UserInputError, match="not an Ethereum keystore"):
        wallet.import_keystore("{not json", "correct horse")
    assert wallet.import_keystore(keystore, "correct horse") == PHRASE_ADDRESS


@pytest.mark.keyring
def test_a_second_wallet_does_not_replace_the_first(wallet: Wallet) -> None:
    first = wallet.create(RecoveryPhrase.new())
    with pytest.raises(UserInputError, match="already set up"):
        wallet.import_hex(PHRASE_KEY)
    assert wallet.address() == first


@pytest.mark.keyring
def test_export_and_delete_need_the_address_typed(wallet: Wallet) -> None:
    address = wallet.import_hex(PHRASE_KEY)
    for typed in ("", "yes", "0x" + "00" * 20, address[:-1] + ("0" if address[-1] != "0" else "1")):
        with pytest.raises(UserInputError, match="does not match the wallet"):
            wallet.export_key(typed)
        with pytest.raises(UserInputError):
            wallet.delete(typed)
    assert wallet.export_key(address.lower()) == PHRASE_KEY
    wallet.delete(address)
    assert not wallet.exists()
    with pytest.raises(NoWallet):
        wallet.address()
    with pytest.raises(NoWallet):
        wallet.sign_typed_data(_claim(address))


class InsecureFile:
    """Stands for keyrings.alt's PlaintextKeyring (not installed here: it must never ship)."""

    __module__ = "keyrings.alt.file"


class ChainerBackend:
    """A keyring chainer as `keyring` builds it: judged by the backends it wraps."""

    def __init__(self, *backends: Any) -> None:
        self.backends = list(backends)


@pytest.mark.parametrize(
    "insecure",
    [
        keyring.backends.fail.Keyring(),
        keyring.backends.null.Keyring(),
        InsecureFile(),
        ChainerBackend(keyring.backends.null.Keyring(), InsecureFile()),
    ],
)
def test_insecure_backends_are_refused_with_an_explanation(insecure: Any) -> None:
    with pytest.raises(KeyringUnavailable) as err:
        Wallet(insecure)
    assert "no secure OS keyring" in str(err.value) and "never falls back to a file" in err.value.hint


@pytest.mark.keyring
def test_a_chainer_is_unwrapped_to_its_secure_backend(backend: Any) -> None:
    assert require_secure(ChainerBackend(backend, keyring.backends.null.Keyring())) is backend


class LockedKeyring:
    """The keyring boundary as a locked Secret Service answers it (what `keyring` raises)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.InitError("Failed to create the collection: Prompt dismissed..")

    set_password = delete_password = get_password  # type: ignore[assignment]


def test_a_locked_keyring_is_a_plain_error() -> None:
    wallet = Wallet(LockedKeyring())
    for action in (lambda: wallet.create(RecoveryPhrase(PHRASE.split())), wallet.address,
                   lambda: wallet.import_hex(PHRASE_KEY)):
        with pytest.raises(KeyringUnavailable) as err:
            action()
        assert "keyring is locked" in str(err.value) and "unlock" in err.value.hint
        assert PHRASE_KEY[2:] not in str(err.value)
