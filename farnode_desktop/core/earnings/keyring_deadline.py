"""Keyring calls with a time limit: an OS keyring can wait forever (an unlock prompt nobody sees, a stuck service);
the caller gets a plain error instead, and when its owner quits every waiting call is let go at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from farnode_desktop.core.earnings.keystore import KeyringBackend, KeyringUnavailable

T = TypeVar("T")

# Long enough to type a password into the keyring's unlock prompt; a call still waiting then has no prompt behind it.
KEYRING_TIMEOUT_S = 120.0

class DeadlineKeyring:
    """Wraps an accepted OS keyring (`keystore.require_secure` has passed it): each call runs on a daemon thread,
    and the caller waits at most `timeout_s`, or until `quitting` is set (then this and every later call ends with
    KeyringUnavailable). A call left behind finishes (or not) on its own thread, which never holds the process open."""

    def __init__(self, backend: KeyringBackend, quitting: threading.Event,
                 timeout_s: float = KEYRING_TIMEOUT_S) -> None:
        self.backend = backend
        self.timeout_s = timeout_s
        self._quitting = quitting

    def get_password(self, service: str, username: str) -> str | None:
        return self._call("read the wallet from", lambda: self.backend.get_password(service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._call("save the wallet in", lambda: self.backend.set_password(service, username, password))

    def delete_password(self, service: str, username: str) -> None:
        self._call("delete the wallet from", lambda: self.backend.delete_password(service, username))

    def _call(self, doing: str, fn: Callable[[], T]) -> T:
        if self._quitting.is_set():
            raise KeyringUnavailable(f"FarNode is quitting: it did not {doing} the OS keyring")
        done = threading.Event()
        outcome: list[T] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                outcome.append(fn())
            except BaseException as exc:  # handed to the caller's thread, raised there
                failure.append(exc)
            finally:
                done.set()

        threading.Thread(target=run, name="farnode-keyring", daemon=True).start()
        deadline = time.monotonic() + self.timeout_s
        while not done.wait(0.05):  # short waits: Quit lets go within a twentieth of a second
            if self._quitting.is_set():
                raise KeyringUnavailable(f"FarNode is quitting: it did not {doing} the OS keyring")
            if time.monotonic() >= deadline:
                raise KeyringUnavailable(
                    f"the OS keyring did not answer within {self.timeout_s:.0f} s, so FarNode could not {doing} it "
                    "(a password prompt may be waiting where you cannot see it, or the keyring service is stuck)",
                    hint="unlock your keyring (GNOME Keyring, KWallet) or restart it, then try again")
        if failure:
            raise failure[0]
        return outcome[0]
