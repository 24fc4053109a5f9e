"""The provider's wallet: its key lives only in the OS keyring; this module hands out the address and
signatures, never the key."""

from __future__ import annotations

import json
import re
from typing import Any

from eth_account import Account
from eth_utils.address import is_checksum_address, to_checksum_address

from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.keystore import KeyringBackend, KeyringUnavailable, require_secure

SERVICE = "FarNode Desktop wallet"
KEY_ENTRY = "private-key"
ADDRESS_ENTRY = "address"
DEFAULT_HD_PATH = "m/44'/60'/0'/0/0"
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")

Account.enable_unaudited_hdwallet_features()


class NoWallet(FarNodeError):
    """There is no wallet in the keyring yet."""


def normalise_address(text: str) -> str:
    """A checksummed address from what a provider typed; a clear error if it is not an address."""
    value = text.strip()
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise UserInputError(
            f"{value!r} is not an Ethereum address", hint="an address is 0x followed by 40 hex digits"
        )
    if value != value.lower() and value[2:] != value[2:].upper() and not is_checksum_address(value):
        raise UserInputError(
            "the address has a mixed-case checksum that does not match: a character is mistyped",
            hint="copy the address again instead of typing it",
        )
    return str(to_checksum_address(value))


def _key_from_hex(secret: str) -> str:
    value = secret.strip()
    if not _HEX_KEY.fullmatch(value):
        raise UserInputError(
            "that is not a private key: expected 64 hex digits (optionally starting with 0x)",
            hint="check that the whole key was pasted, with no spaces or missing characters",
        )
    value = value.lower().removeprefix("0x")
    try:
        Account.from_key("0x" + value)
    except Exception:
        raise UserInputError(
            "that private key is outside the range Ethereum allows (zero or too large)",
            hint="check the key; it cannot be used for any account",
        ) from None
    return "0x" + value


def _key_from_mnemonic(phrase: str, passphrase: str, path: str) -> str:
    from mnemonic import Mnemonic

    words = phrase.strip().lower().split()
    if len(words) not in (12, 15, 18, 21, 24):
        raise UserInputError(
            f"a recovery phrase has 12, 15, 18, 21 or 24 words; this one has {len(words)}",
            hint="type every word of the phrase, separated by spaces",
        )
    english = Mnemonic("english")
    known = set(english.wordlist)
    unknown = [str(i + 1) for i, w in enumerate(words) if w not in known]
    if unknown:
        # Positions only: the words themselves are secret and could end up in a log.
        raise UserInputError(
            f"word {', '.join(unknown)} of the recovery phrase is not in the BIP-39 English word list",
            hint="check the spelling of that word against your written backup",
        )
    if not english.check(" ".join(words)):
        raise UserInputError(
            "the recovery phrase's checksum does not match: a word is wrong or two are swapped",
            hint="compare each word and its position with your written backup",
        )
    try:
        acct = Account.from_mnemonic(" ".join(words), passphrase=passphrase, account_path=path)
    except Exception:
        raise UserInputError(
            "the recovery phrase could not be turned into a key", hint=f"check the path {path!r}"
        ) from None
    return str(acct.key.to_0x_hex())


def _key_from_keystore(keystore_json: str, password: str) -> str:
    try:
        data = json.loads(keystore_json)
        if not isinstance(data, dict) or "crypto" not in {k.lower() for k in data}:
            raise ValueError("no crypto section")
    except ValueError:
        raise UserInputError(
            "that file is not an Ethereum keystore (JSON with a 'crypto' section)",
            hint="export a keystore / UTC JSON file from your wallet app and import that",
        ) from None
    try:
        raw = Account.decrypt(data, password)
    except ValueError:
        raise UserInputError(
            "the keystore password is wrong (or the keystore file is damaged)",
            hint="type the password you set when the keystore was exported",
        ) from None
    except Exception:
        raise UserInputError("the keystore file could not be decrypted: it is damaged") from None
    return "0x" + bytes(raw).hex()


class Wallet:
    """The provider's one payout wallet, kept in an injected (secure) keyring backend."""

    def __init__(self, backend: KeyringBackend, bus: EventBus | None = None, service: str = SERVICE) -> None:
        self._backend = require_secure(backend)
        self._bus = bus
        self._service = service

    # -- keyring access, every failure turned into a plain error -------------------------------------
    def _call(self, what: str, fn: Any, *args: str) -> Any:
        import keyring.errors as kerr

        try:
            return fn(self._service, *args)
        except Exception as exc:
            # A locked Secret Service raises KeyringLocked, or InitError "Prompt dismissed" when no one can
            # answer the unlock prompt; other backends raise their own (D-Bus, Windows) errors. Only the
            # type and message are shown: they never hold the secret.
            text = str(exc).lower()
            if isinstance(exc, kerr.KeyringLocked) or "dismissed" in text or "locked" in text:
                raise KeyringUnavailable(
                    f"the OS keyring is locked, so FarNode could not {what}; nothing was changed",
                    hint="unlock your keyring (log in to the desktop session or open 'Passwords and Keys')",
                ) from None
            raise KeyringUnavailable(
                f"the OS keyring failed, so FarNode could not {what}: {type(exc).__name__}: {exc}",
                hint="check that the keyring service is running and unlocked, then retry",
            ) from None

    def _get(self, entry: str, what: str) -> str | None:
        value = self._call(what, self._backend.get_password, entry)
        return None if value is None else str(value)

    def _emit(self, topic: str, reason: str, address: str) -> None:
        if self._bus is not None:
            self._bus.emit(Event(topic=topic, source="wallet", reason=reason, data={"address": address}))

    # -- public API ------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self._get(ADDRESS_ENTRY, "check for a wallet") is not None

    def address(self) -> str:
        """The wallet's checksummed address (read without touching the key)."""
        value = self._get(ADDRESS_ENTRY, "read the wallet address")
        if value is None:
            raise NoWallet(
                "there is no wallet yet", hint="create one with `farnode wallet create` or import yours"
            )
        return value

    def create(self) -> str:
        """Make a new random key in the keyring; returns its address."""
        acct = Account.create()
        return self._store(str(acct.key.to_0x_hex()), "created")

    def import_hex(self, secret: str) -> str:
        return self._store(_key_from_hex(secret), "imported a private key")

    def import_mnemonic(self, phrase: str, passphrase: str = "", path: str = DEFAULT_HD_PATH) -> str:
        return self._store(_key_from_mnemonic(phrase, passphrase, path), "imported a recovery phrase")

    def import_keystore(self, keystore_json: str, password: str) -> str:
        return self._store(_key_from_keystore(keystore_json, password), "imported a keystore file")

    def _store(self, key: str, reason: str) -> str:
        existing = self._get(ADDRESS_ENTRY, "check for a wallet")
        if existing is not None:
            raise UserInputError(
                f"a wallet ({existing}) is already set up; FarNode keeps one payout wallet",
                hint="export its key if you need it, delete it with `farnode wallet delete`, then try again",
            )
        address = str(Account.from_key(key).address)
        self._call("store the wallet key", self._backend.set_password, KEY_ENTRY, key)
        try:
            self._call("store the wallet address", self._backend.set_password, ADDRESS_ENTRY, address)
        except FarNodeError:
            # Half a wallet is worse than none: take the key back out, then report.
            self._call("clean up the wallet key", self._backend.delete_password, KEY_ENTRY)
            raise
        del key
        self._emit("wallet.created" if reason == "created" else "wallet.imported", reason, address)
        return address

    def _load_key(self, what: str) -> str:
        key = self._get(KEY_ENTRY, what)
        if key is None:
            raise NoWallet(
                "the wallet key is missing from the keyring",
                hint="import your key again (`farnode wallet import`)",
            )
        return key

    def sign_typed_data(self, full_message: dict[str, Any]) -> str:
        """Sign EIP-712 typed data; the key is read from the keyring for this call only."""
        address = self.address()
        key = self._load_key("sign with the wallet")
        try:
            signed = Account.sign_typed_data(key, full_message=full_message)
            if Account.from_key(key).address != address:
                raise FarNodeError(
                    "the wallet key in the keyring does not match the stored address",
                    hint="delete the wallet and import your key again",
                )
        except FarNodeError:
            raise
        except Exception as exc:
            raise FarNodeError(f"the data to sign is not valid EIP-712 typed data: {exc}") from None
        finally:
            del key
        return "0x" + bytes(signed.signature).hex()

    def _confirm(self, typed_address: str, action: str) -> str:
        address = self.address()
        try:
            typed = normalise_address(typed_address)
        except UserInputError:
            typed = ""
        if typed != address:
            raise UserInputError(
                f"the address typed does not match the wallet, so FarNode did not {action}",
                hint=f"type the wallet's address exactly: {address}",
            )
        return address

    def export_key(self, confirm_address: str) -> str:
        """The private key, only after the provider typed the wallet's address to confirm."""
        address = self._confirm(confirm_address, "export the key")
        key = self._load_key("read the wallet key")
        self._emit("wallet.exported", "the provider exported the key", address)
        return key

    def delete(self, confirm_address: str) -> None:
        """Remove the key and address from the keyring (after the address was typed to confirm)."""
        address = self._confirm(confirm_address, "delete the wallet")
        self._call("delete the wallet key", self._backend.delete_password, KEY_ENTRY)
        self._call("delete the wallet address", self._backend.delete_password, ADDRESS_ENTRY)
        self._emit("wallet.deleted", "the provider deleted the wallet", address)
