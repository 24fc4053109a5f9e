"""Fuzz tests of keystore files (Hypothesis): whatever a keystore the provider imports holds (any bytes, any JSON,
a real keystore with one value swapped), reading it gives the key or a plain UserInputError, never a traceback. The
keyring is never reached: `_key_from_keystore` is what `Wallet.import_keystore` runs before it stores anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from hypothesis import given, settings

from farnode_desktop.core.earnings.wallet import _key_from_keystore, read_keystore_file
from farnode_desktop.core.errors import UserInputError
from tests.hostile_inputs import file_contents

KEY = "0x" + "11" * 32
SCRYPT = Account.encrypt(KEY, "pw", kdf="scrypt", iterations=2)
PBKDF2 = Account.encrypt(KEY, "pw", kdf="pbkdf2", iterations=1)
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keystore-fuzz")


def read(folder: Path, content: bytes) -> str | None:
    path = folder / "UTC--keystore.json"
    path.write_bytes(content)
    try:
        return _key_from_keystore(read_keystore_file(path), "pw")
    except UserInputError as exc:
        assert str(exc) and exc.hint is not None
        return None


def test_the_templates_are_keystores_that_decrypt(folder: Path) -> None:
    assert read(folder, json.dumps(SCRYPT).encode()) == read(folder, json.dumps(PBKDF2).encode()) == KEY


@FUZZ
@given(content=file_contents(SCRYPT))
def test_any_scrypt_keystore_gives_its_key_or_a_plain_reason(folder: Path, content: bytes) -> None:
    assert read(folder, content) in (None, KEY)


@FUZZ
@given(content=file_contents(PBKDF2))
def test_any_pbkdf2_keystore_gives_its_key_or_a_plain_reason(folder: Path, content: bytes) -> None:
    assert read(folder, content) in (None, KEY)
