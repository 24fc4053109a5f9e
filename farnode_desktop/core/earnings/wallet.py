"""The provider's wallet: its key lives only in the OS keyring; this module hands out the address and
signatures, never the key."""

from __future__ import annotations

import os
import re
import stat
from typing import Any

from eth_account import Account
from eth_utils.address import is_checksum_address, to_checksum_address

from farnode_desktop.core.checked_files import loads_bounded
from farnode_desktop.core.earnings.keystore import KeyringBackend, KeyringUnavailable, require_secure
from farnode_desktop.core.earnings.network import installation_networks
from farnode_desktop.core.earnings.recovery import RecoveryPhrase
from farnode_desktop.core.earnings.signing_policy import WalletPolicy
from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.events import Event, EventBus

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


MAX_KEYSTORE_BYTES = 64 * 1024  # a keystore is about 500 bytes; a file the provider points at is read only this far
# Key derivation cost a keystore may ask for before it is decrypted (geth's standard is scrypt n=2^18, r=8, p=1 and
# pbkdf2 c=262144): beyond these a file could make the app spend gigabytes of memory or minutes of CPU.
MAX_SCRYPT_N = 2**20
MAX_SCRYPT_WORK = 2**23  # n * r * p: at most 1 GiB of scrypt memory, about 3 s on a desktop CPU
MAX_PBKDF2_C = 2**22  # about 1 s of hmac-sha256
_NOT_A_KEYSTORE = "that file is not an Ethereum keystore (JSON with a 'crypto' section)"
_EXPORT_HINT = "export a keystore / UTC JSON file from your wallet app and import that"


def read_keystore_file(path: str | os.PathLike[str]) -> str:
    """The text of a keystore file the provider points at: a regular file, read at most MAX_KEYSTORE_BYTES."""
    # O_NONBLOCK: opening a FIFO must not hang; the type is checked on the opened file, not on the name.
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UserInputError(f"cannot read the keystore file {os.fspath(path)!r}: {exc.strerror}") from None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)  # before fdopen: a folder cannot even be wrapped in a file
        if not regular:
            raise UserInputError(
                f"{os.fspath(path)!r} is not a regular file, so it cannot be a keystore", hint=_EXPORT_HINT
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_KEYSTORE_BYTES + 1)
    except OSError as exc:
        raise UserInputError(f"cannot read the keystore file {os.fspath(path)!r}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_KEYSTORE_BYTES:
        raise UserInputError(
            f"that file is too large to be an Ethereum keystore (more than {MAX_KEYSTORE_BYTES // 1024} KiB)",
            hint=_EXPORT_HINT,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError(f"{_NOT_A_KEYSTORE}: it is not text", hint=_EXPORT_HINT) from None


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    return value


def _bounded_int(params: dict[str, Any], name: str, low: int, high: int) -> int:
    value = params.get(name)
    if type(value) is not int or not low <= value <= high:
        raise UserInputError(
            f"the keystore asks for key derivation parameter {name}={str(value)[:20]}, outside {low}..{high}",
            hint="FarNode decrypts keystores made with standard settings (geth, MetaMask, MyEtherWallet); "
            "export the key again from your wallet app",
        )
    return value


def check_kdf(data: dict[str, Any]) -> None:
    """Refuse a keystore whose key derivation would cost more than a standard one, before deriving anything."""
    crypto = _lower_keys(data).get("crypto")
    if not isinstance(crypto, dict):
        raise UserInputError(_NOT_A_KEYSTORE, hint=_EXPORT_HINT)
    kdf: Any = crypto.get("kdf")
    params: Any = crypto.get("kdfparams")
    if isinstance(kdf, dict):  # keystore version 4
        kdf, params = kdf.get("function"), kdf.get("params")
    if not isinstance(params, dict) or kdf not in ("scrypt", "pbkdf2"):
        raise UserInputError(
            f"the keystore uses an unsupported key derivation ({str(kdf)[:20]!r}); FarNode reads scrypt and pbkdf2",
            hint=_EXPORT_HINT,
        )
    _bounded_int(params, "dklen", 32, 64)
    salt = params.get("salt")
    if not isinstance(salt, str) or len(salt) > 256:
        raise UserInputError("the keystore's salt is damaged", hint=_EXPORT_HINT)
    if kdf == "scrypt":
        n = _bounded_int(params, "n", 2, MAX_SCRYPT_N)
        if n & (n - 1):
            raise UserInputError(f"the keystore's scrypt n={n} is not a power of two: the file is damaged")
        r = _bounded_int(params, "r", 1, 64)
        p = _bounded_int(params, "p", 1, 64)
        if n * r * p > MAX_SCRYPT_WORK:
            raise UserInputError(
                f"the keystore asks for scrypt n={n}, r={r}, p={p}: more work than FarNode allows "
                f"(n*r*p up to {MAX_SCRYPT_WORK})",
                hint="export the key again from your wallet app with standard settings",
            )
    else:
        _bounded_int(params, "c", 1, MAX_PBKDF2_C)
        if params.get("prf") != "hmac-sha256":
            raise UserInputError("the keystore's pbkdf2 uses a hash other than hmac-sha256", hint=_EXPORT_HINT)


def _key_from_keystore(keystore_json: str, password: str) -> str:
    if len(keystore_json) > MAX_KEYSTORE_BYTES:
        raise UserInputError("that is too large to be an Ethereum keystore", hint=_EXPORT_HINT)
    try:
        data = loads_bounded(keystore_json)
        if not isinstance(data, dict) or "crypto" not in {str(k).lower() for k in data}:
            raise ValueError("no crypto section")
    except (ValueError, RecursionError):
        raise UserInputError(_NOT_A_KEYSTORE, hint=_EXPORT_HINT) from None
    check_kdf(data)
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
    """The provider's one payout wallet, kept in an injected (secure) keyring backend. It signs only what its
    `policy` passes: by default the networks this installation pins (`signing_policy.WalletPolicy`)."""

    def __init__(self, backend: KeyringBackend, bus: EventBus | None = None, service: str = SERVICE,
                 policy: WalletPolicy | None = None) -> None:
        self._backend = require_secure(backend)
        self._bus = bus
        self._service = service
        self._policy = policy or WalletPolicy(installation_networks)

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

    def create(self, phrase: RecoveryPhrase) -> str:
        """Store the key of a new wallet made from `phrase` (its words already shown to the provider and
        confirmed: that phrase is the wallet's only backup); returns its address."""
        return self._store(_key_from_mnemonic(phrase.reveal(), "", DEFAULT_HD_PATH), "created")

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
        """Sign EIP-712 typed data the wallet's policy passes (SigningRefused otherwise, before the key is read);
        the key is read from the keyring for this call only."""
        address = self.address()
        self._policy.check(full_message, address)
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
