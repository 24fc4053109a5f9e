"""`farnode wallet ...` as a provider runs it, each test in its own D-Bus session with a real gnome-keyring:
secrets come from stdin only, export shows the key on a terminal only, a locked keyring is a plain error."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.core.earnings.test_wallet import PHRASE, PHRASE_ADDRESS, PHRASE_KEY
from tests.devnet.helpers import clean_stderr, gnome_keyring_tools, keyring_session

pytestmark = pytest.mark.keyring


def _env(farnode_home: Path) -> dict[str, str]:
    return {"FARNODE_HOME": str(farnode_home)}


def test_import_from_stdin_then_address_and_delete(farnode_home: Path) -> None:
    script = """
    printf '%s\\n' "$PHRASE" | $FARNODE wallet import || exit 10
    $FARNODE wallet address --json || exit 11
    $FARNODE wallet delete --confirm-address 0x0000000000000000000000000000000000000000 && exit 12
    $FARNODE wallet delete --confirm-address "$ADDR" || exit 13
    $FARNODE wallet address
    """
    env = {**_env(farnode_home), "PHRASE": PHRASE, "ADDR": PHRASE_ADDRESS}
    result = keyring_session(script, env)
    err = clean_stderr(result.stderr)
    assert f"Wallet imported: {PHRASE_ADDRESS}" in result.stdout
    assert f'{{"address": "{PHRASE_ADDRESS}"}}' in result.stdout
    assert "does not match the wallet" in err and "deleted from the OS keyring" in result.stdout
    assert result.returncode == 1 and "there is no wallet yet" in err and "Traceback" not in err


def test_bad_secrets_on_stdin_are_plain_errors(farnode_home: Path) -> None:
    script = """
    printf '%s\\n' "$BADPHRASE" | $FARNODE wallet import; echo "rc=$?"
    printf '%s\\n' "$BADKEY" | $FARNODE wallet import --kind hex; echo "rc=$?"
    printf 'wrong\\n' | $FARNODE wallet import --keystore-file "$KEYSTORE"; echo "rc=$?"
    printf 'secret\\n' | $FARNODE wallet import --keystore-file "$KEYSTORE"; echo "rc=$?"
    """
    from eth_account import Account

    keystore = farnode_home / "UTC--key.json"
    keystore.write_text(
        __import__("json").dumps(Account.encrypt(PHRASE_KEY, "secret", kdf="scrypt", iterations=2**10))
    )
    env = {
        **_env(farnode_home),
        "BADPHRASE": PHRASE.replace("junk", "test"),
        "BADKEY": PHRASE_KEY[:-2],
        "KEYSTORE": str(keystore),
    }
    result = keyring_session(script, env)
    err = clean_stderr(result.stderr)
    assert result.stdout.count("rc=2") == 3
    assert f"Wallet imported: {PHRASE_ADDRESS}\nIts backup is the keystore file" in result.stdout
    assert result.stdout.endswith("rc=0\n")
    assert "checksum does not match" in err and "64 hex digits" in err and "password is wrong" in err
    assert "Traceback" not in err and PHRASE_KEY[2:-2] not in err + result.stdout


def test_a_key_on_the_command_line_is_not_accepted(farnode_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "farnode_desktop", "wallet", "import", PHRASE_KEY],
        capture_output=True,
        text=True,
        env={**os.environ, **_env(farnode_home)},
        timeout=60,
    )
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


def test_a_keyring_never_unlocked_is_a_plain_error(farnode_home: Path) -> None:
    result = keyring_session("$FARNODE wallet create", _env(farnode_home), unlock=False)
    err = clean_stderr(result.stderr)
    assert result.returncode == 1 and "keyring is locked" in err and "what to do: unlock" in err
    assert "Traceback" not in err


def test_a_keyring_locked_later_refuses_and_keeps_the_wallet(farnode_home: Path) -> None:
    script = """
    printf '%s\\n' "$KEY" | $FARNODE wallet import >/dev/null || exit 10
    "$PY" -c 'import secretstorage as s; s.get_default_collection(s.dbus_init()).lock()' || exit 11
    $FARNODE wallet address; echo "locked-rc=$?"
    $FARNODE wallet delete --confirm-address "$ADDR"; echo "delete-rc=$?"
    printf pw | gnome-keyring-daemon --replace --unlock --components=secrets >/dev/null 2>&1; sleep 0.5
    $FARNODE wallet address
    """
    env = {**_env(farnode_home), "KEY": PHRASE_KEY, "ADDR": PHRASE_ADDRESS, "PY": sys.executable}
    result = keyring_session(script, env)
    err = clean_stderr(result.stderr)
    assert "locked-rc=1" in result.stdout and "delete-rc=1" in result.stdout
    assert err.count("keyring is locked") == 2 and "Traceback" not in err
    assert result.stdout.strip().endswith(PHRASE_ADDRESS), result.stdout + err


def test_export_refuses_a_pipe_and_shows_the_key_on_a_terminal(farnode_home: Path) -> None:
    gnome_keyring_tools()
    piped = keyring_session(
        f"printf '%s\\n' \"$KEY\" | $FARNODE wallet import >/dev/null\n"
        f"echo {PHRASE_ADDRESS} | $FARNODE wallet export | cat",
        {**_env(farnode_home), "KEY": PHRASE_KEY},
    )
    assert "only on a terminal" in piped.stderr and PHRASE_KEY[2:] not in piped.stdout + piped.stderr

    # On a real pseudo-terminal: the address typed at the prompt releases the key.
    import tempfile

    master, slave = pty.openpty()
    script = (
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n"
        "printf '%s\\n' \"$KEY\" | $FARNODE wallet import >/dev/null 2>&1\n$FARNODE wallet export"
    )
    env = {
        **os.environ,
        **_env(farnode_home),
        "KEY": PHRASE_KEY,
        "HOME": tempfile.mkdtemp(),
        "FARNODE": f"{sys.executable} -m farnode_desktop",
    }
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    proc = subprocess.Popen(
        ["dbus-run-session", "--", "sh", "-c", script],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    typed = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not typed and b"type the wallet's address" in seen:
            os.write(master, PHRASE_ADDRESS.encode() + b"\n")
            typed = True
        if proc.poll() is not None and not ready:
            break
    proc.wait(timeout=30)
    os.close(master)
    assert typed and proc.returncode == 0, seen.decode(errors="replace")
    assert PHRASE_KEY.encode() in seen


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"])
def test_no_secure_keyring_is_explained_and_nothing_is_written(farnode_home: Path, backend: str) -> None:
    env = {**os.environ, **_env(farnode_home), "PYTHON_KEYRING_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, "-m", "farnode_desktop", "wallet", "import", "--kind", "hex"],
        input=PHRASE_KEY + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1 and "no secure OS keyring" in result.stderr
    assert "never falls back to a file" in result.stderr and "Traceback" not in result.stderr
    assert not any(p.is_file() for p in farnode_home.rglob("*"))


def _drive_create(farnode_home: Path, home: str, answer: Any) -> tuple[int, str]:
    """`farnode wallet create` on a real pseudo-terminal with its own unlocked gnome-keyring; `answer(seen, words)`
    gives what to type at each word prompt."""
    import re

    master, slave = pty.openpty()
    script = ("printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n"
              "$FARNODE wallet create\necho \"rc=$?\"\n$FARNODE wallet address")
    env = {**os.environ, **_env(farnode_home), "HOME": home, "FARNODE": f"{sys.executable} -m farnode_desktop"}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    proc = subprocess.Popen(["dbus-run-session", "--", "sh", "-c", script], stdin=slave, stdout=slave,
                            stderr=slave, env=env)
    os.close(slave)
    seen, handled, words = b"", 0, {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.3)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        text = seen.decode(errors="replace")
        words.update({int(n): w for n, w in re.findall(r"(\d+)\. ([a-z]+)", text)})
        prompts = re.findall(r"Word #(\d+): |written down\.|see the words again\.", text)
        if len(prompts) > handled:
            prompt = prompts[handled]
            handled += 1
            os.write(master, (answer(int(prompt), words) if prompt else "").encode() + b"\n")
        if proc.poll() is not None and not ready:
            break
    proc.wait(timeout=30)
    os.close(master)
    return proc.returncode, seen.decode(errors="replace")


def test_create_shows_the_phrase_once_on_a_terminal_and_checks_three_words(farnode_home: Path) -> None:
    import re
    import tempfile

    from eth_account import Account

    gnome_keyring_tools()
    home = tempfile.mkdtemp()
    asked: list[int] = []

    def answer(position: int, words: dict[int, str]) -> str:
        asked.append(position)
        return words[position]

    rc, seen = _drive_create(farnode_home, home, answer)
    assert rc == 0 and "rc=0" in seen, seen
    assert "gone for good" in seen and "Write the words on paper" in seen and "\x1b[?1049h" in seen
    assert len(asked) == 3 == len(set(asked))
    words = dict(re.findall(r"(\d+)\. ([a-z]+)", seen))
    phrase = " ".join(words[str(i)] for i in range(1, 13))
    address = re.search(r"New wallet created: (0x[0-9a-fA-F]{40})", seen)
    assert address is not None and Account.from_mnemonic(phrase).address == address.group(1)
    assert seen.strip().endswith(address.group(1)) and "backup is the 12 words" in seen
    # the words are typed hidden: each appears only in the one numbered list, and nowhere on disk
    assert all(seen.count(f"{n}. {w}") == 1 for n, w in words.items())
    for folder in (farnode_home, Path(home)):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert phrase.encode() not in data and " ".join(phrase.split()[:4]).encode() not in data, path


def test_create_with_wrong_words_creates_nothing(farnode_home: Path) -> None:
    import tempfile

    gnome_keyring_tools()
    _rc, seen = _drive_create(farnode_home, tempfile.mkdtemp(), lambda position, words: "zzz")
    assert "does not match the recovery phrase" in seen and "no wallet was created" in seen
    assert "rc=2" in seen and "there is no wallet yet" in seen and "Traceback" not in seen, seen
    assert seen.count("Word #") == 9  # three rounds of three words, the words shown again between them


def test_create_refuses_a_pipe_before_showing_any_words(farnode_home: Path) -> None:
    result = keyring_session("$FARNODE wallet create | cat", _env(farnode_home))
    err = clean_stderr(result.stderr)
    assert "shown only on a terminal" in err and "Traceback" not in err
    assert "1. " not in result.stdout and "recovery phrase" not in result.stdout
