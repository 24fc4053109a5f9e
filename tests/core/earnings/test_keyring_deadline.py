"""Keyring calls with a time limit: a keyring that never answers gives a plain error within the limit, Quit lets
every waiting call go at once, and a keyring that answers is used as it is (values and errors pass through)."""

from __future__ import annotations

import threading
import time

import pytest

from farnode_desktop.core.earnings.keyring_deadline import DeadlineKeyring
from farnode_desktop.core.earnings.keystore import KeyringUnavailable
from farnode_desktop.devnet.demo import MemoryKeyring


class NeverAnswers:
    """A keyring at the injected boundary whose every call waits forever, as a Secret Service does while its unlock
    prompt is never shown (the real Secret Service case: tests/ui/test_quit.py)."""

    def __init__(self) -> None:
        self.calls = 0
        self._never = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        self._never.wait()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls += 1
        self._never.wait()

    def delete_password(self, service: str, username: str) -> None:
        self.calls += 1
        self._never.wait()


def test_a_keyring_that_never_answers_is_a_plain_error_within_the_limit() -> None:
    keyring = DeadlineKeyring(NeverAnswers(), timeout_s=0.3, quitting=threading.Event())
    for call in (lambda: keyring.get_password("svc", "key"), lambda: keyring.set_password("svc", "key", "secret"),
                 lambda: keyring.delete_password("svc", "key")):
        started = time.monotonic()
        with pytest.raises(KeyringUnavailable) as caught:
            call()
        assert time.monotonic() - started < 2.0
        assert "did not answer within 0 s" in str(caught.value) and "password prompt" in str(caught.value)
        assert "secret" not in str(caught.value) and "unlock your keyring" in caught.value.hint


def test_quit_lets_a_waiting_call_go_at_once_and_refuses_later_ones() -> None:
    quitting = threading.Event()
    backend = NeverAnswers()
    keyring = DeadlineKeyring(backend, timeout_s=3600, quitting=quitting)
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            keyring.get_password("svc", "key")
        except KeyringUnavailable as exc:
            errors.append(exc)

    waiting = threading.Thread(target=ask)
    waiting.start()
    while backend.calls == 0:
        time.sleep(0.01)
    quit_at = time.monotonic()
    quitting.set()
    waiting.join(5)
    assert not waiting.is_alive() and time.monotonic() - quit_at < 1.0
    assert "quitting" in str(errors[0])
    with pytest.raises(KeyringUnavailable, match="quitting"):
        keyring.get_password("svc", "key")
    assert backend.calls == 1  # after Quit the keyring is not even asked


def test_a_keyring_that_answers_is_used_as_it_is() -> None:
    keyring = DeadlineKeyring(MemoryKeyring(), timeout_s=5, quitting=threading.Event())
    assert keyring.get_password("svc", "key") is None
    keyring.set_password("svc", "key", "value")
    assert keyring.get_password("svc", "key") == "value"
    keyring.delete_password("svc", "key")
    assert keyring.get_password("svc", "key") is None

    class Locked(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise KeyringUnavailable("the keyring is locked")

    with pytest.raises(KeyringUnavailable, match="the keyring is locked"):
        DeadlineKeyring(Locked(), timeout_s=5, quitting=threading.Event()).get_password("svc", "key")
