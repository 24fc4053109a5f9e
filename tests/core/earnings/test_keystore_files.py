"""A keystore file the provider points at is bounded: only a regular file, read at most 64 KiB, text only, and its
key derivation cost (scrypt n/r/p, pbkdf2 c) checked before anything is derived."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from farnode_desktop.core.earnings.wallet import Wallet, read_keystore_file
from farnode_desktop.core.errors import UserInputError
from tests.core.earnings.test_wallet import PHRASE_ADDRESS, PHRASE_KEY


class DictKeyring:
    """An in-process keyring (the boundary the demo's memory keyring also fills): these tests never reach it."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


def _keystore(kdf: str = "scrypt", **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = Account.encrypt(PHRASE_KEY, "secret", kdf=kdf, iterations=2**10 if kdf == "scrypt" else 1000)
    body["crypto"]["kdfparams"].update(params)
    return body


def test_dev_zero_is_refused_without_reading_it_and_a_fifo_does_not_hang(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="not a regular file"):
        read_keystore_file("/dev/zero")
    fifo = tmp_path / "keystore.fifo"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_keystore_file(fifo)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "opening a FIFO hung"
    assert isinstance(outcome[0], UserInputError) and "not a regular file" in str(outcome[0])


def test_cli_import_from_dev_zero_stays_small(farnode_home: Path) -> None:
    """The audit saw 11 GB: with the address space capped at 1.5 GiB the old read dies, the bounded one answers."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))

    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "farnode_desktop", "wallet", "import", "--keystore-file",
                             "/dev/zero"], env={**os.environ, "FARNODE_HOME": str(farnode_home)},
                            capture_output=True, text=True, timeout=120, preexec_fn=cap, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert "is not a regular file" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 60


def test_a_large_random_file_is_a_plain_error_not_a_decode_error(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as out:
        for _ in range(50):
            out.write(os.urandom(2**20))
    with pytest.raises(UserInputError, match="too large to be an Ethereum keystore"):
        read_keystore_file(big)
    small = tmp_path / "small.json"
    small.write_bytes(b"\xff\xfe" + os.urandom(1000))
    with pytest.raises(UserInputError, match=r"not an Ethereum keystore.*not text"):
        read_keystore_file(small)
    missing = tmp_path / "missing.json"
    with pytest.raises(UserInputError, match="cannot read the keystore file"):
        read_keystore_file(missing)


@pytest.mark.parametrize(
    ("kdf", "params", "says"),
    [
        ("scrypt", {"n": 2**30}, "n=1073741824"),
        ("scrypt", {"n": 2**20, "r": 64}, "more work than FarNode allows"),
        ("scrypt", {"p": 2**20}, "p=1048576"),
        ("scrypt", {"n": 1000}, "not a power of two"),
        ("scrypt", {"n": "1024"}, "n=1024"),
        ("scrypt", {"n": True}, "n=True"),
        ("scrypt", {"dklen": 2**30}, "dklen"),
        ("pbkdf2", {"c": 10**9}, "c=1000000000"),
        ("pbkdf2", {"prf": "hmac-md5"}, "other than hmac-sha256"),
    ],
)
def test_costly_key_derivation_is_refused_before_deriving(kdf: str, params: dict[str, Any], says: str) -> None:
    keyring = DictKeyring()
    started = time.monotonic()
    with pytest.raises(UserInputError, match=says):
        Wallet(keyring).import_keystore(json.dumps(_keystore(kdf, **params)), "secret")
    assert time.monotonic() - started < 1.0  # refused, not derived
    assert keyring.items == {}


@pytest.mark.parametrize("text", ["[" * 100_000, '{"crypto": 5}', '{"crypto": {"kdf": {"function": "argon2"}}}',
                                  "x" * 100_000])
def test_malformed_keystores_are_plain_errors(text: str) -> None:
    with pytest.raises(UserInputError):
        Wallet(DictKeyring()).import_keystore(text, "secret")


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_a_standard_keystore_file_still_imports(tmp_path: Path, kdf: str) -> None:
    path = tmp_path / "UTC--key.json"
    path.write_text(json.dumps(_keystore(kdf)))
    keyring = DictKeyring()
    assert Wallet(keyring).import_keystore(read_keystore_file(path), "secret") == PHRASE_ADDRESS
