"""A misconfigured keyring, met by the real `farnode` command: PYTHON_KEYRING_BACKEND naming nonsense, a
keyringrc.cfg naming a backend that is not installed or holding garbage, and a real locked gnome-keyring. Each is a
plain error that says what to change, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from farnode_desktop.core.earnings.keystore import KeyringUnavailable, system_keyring
from tests.devnet.helpers import clean_stderr, keyring_session


def _farnode(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("PYTHON_KEYRING_BACKEND", "XDG_CONFIG_HOME")}
    return subprocess.run([sys.executable, "-m", "farnode_desktop", *args], capture_output=True, text=True,
                          timeout=120, env={**full, **env}, check=False)


def _plain(result: subprocess.CompletedProcess[str], *words: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in out, out
    assert result.stderr.startswith("farnode: ") and "what to do:" in result.stderr, out
    for word in words:
        assert word in result.stderr, out


@pytest.mark.parametrize(
    ("backend", "why"),
    [
        ("nonsense", "Empty module name"),
        ("nonsense.module.Backend", "No module named 'nonsense'"),
        ("os.path", "has no attribute 'priority'"),
        ("keyring.backends.SecretService.Nope", "has no attribute 'Nope'"),
        ("", ""),  # empty: keyring's own choice, which is a plain answer too (a keyring, or no keyring)
    ],
)
def test_python_keyring_backend_naming_nonsense_is_a_plain_error(farnode_home: Path, backend: str, why: str) -> None:
    result = _farnode({"PYTHON_KEYRING_BACKEND": backend, "FARNODE_HOME": str(farnode_home),
                       "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"}, "wallet", "address")
    if not backend:
        assert "Traceback" not in result.stdout + result.stderr
        return
    _plain(result, f"PYTHON_KEYRING_BACKEND={backend!r}", why, "unset PYTHON_KEYRING_BACKEND")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"[backend]\ndefault-keyring=missing.backend.Keyring\n", "No module named 'missing'"),
        (b"[backend]\ndefault-keyring=keyring.backends.SecretService\n", "cannot be loaded"),
        (b"\x00\xff[[[ not a config", "UnicodeDecodeError"),
        (b"[backend\ndefault-keyring", "cannot be loaded"),
    ],
)
def test_a_keyringrc_naming_a_missing_backend_or_damaged_is_a_plain_error(
    farnode_home: Path, tmp_path: Path, content: bytes, why: str
) -> None:
    config = tmp_path / "config"
    (config / "python_keyring").mkdir(parents=True)
    (config / "python_keyring" / "keyringrc.cfg").write_bytes(content)
    result = _farnode({"XDG_CONFIG_HOME": str(config), "FARNODE_HOME": str(farnode_home)}, "wallet", "address")
    _plain(result, "keyringrc.cfg", why)


def test_system_keyring_raises_keyring_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring.core

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no.such.Backend")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with pytest.raises(KeyringUnavailable, match="cannot be loaded") as err:
        system_keyring()
    assert "PYTHON_KEYRING_BACKEND" in err.value.hint
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # the next test loads its own


@pytest.mark.keyring
def test_a_locked_gnome_keyring_is_a_plain_error(tmp_path: Path) -> None:
    script = '$FARNODE wallet address; echo "rc=$?"'
    result = keyring_session(script, {"FARNODE_HOME": str(tmp_path / "home")}, unlock=False)
    err = clean_stderr(result.stderr)
    assert result.stdout.split() == ["rc=1"], result.stdout + err
    assert "Traceback" not in err and "the OS keyring is locked" in err and "unlock your keyring" in err, err
