"""The keyring boundary: which OS keyring holds the wallet key, refusing any that would keep it in a file."""

from __future__ import annotations

from typing import Protocol

from farnode_desktop.core.errors import FarNodeError

# Backends that do not keep a secret safe: `fail` and `null` store nothing, `keyrings.alt` keeps it in a
# file (plaintext or with a key next to it). A chainer is judged by what it wraps.
_INSECURE_MODULE_PREFIXES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


class KeyringBackend(Protocol):
    """What the wallet asks of a keyring; every `keyring` backend object has this shape."""

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...

    def delete_password(self, service: str, username: str) -> None: ...


class KeyringUnavailable(FarNodeError):
    """No secure OS keyring can hold the wallet key (or it is locked)."""


def backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def is_insecure(backend: object) -> bool:
    return type(backend).__module__.startswith(_INSECURE_MODULE_PREFIXES)


def _unwrap_chainer(backend: object) -> object:
    """A chainer writes to its first backend: use the best secure one it holds, never an insecure one."""
    if type(backend).__name__ != "ChainerBackend":
        return backend
    secure = [b for b in getattr(backend, "backends", []) if not is_insecure(b)]
    if not secure:
        raise _insecure_error(backend)
    return secure[0]


def _insecure_error(backend: object) -> KeyringUnavailable:
    return KeyringUnavailable(
        f"no secure OS keyring is available for the wallet key (found {backend_name(backend)})",
        hint=(
            "FarNode keeps the key only in Windows Credential Manager, the macOS Keychain or a Secret "
            "Service keyring (GNOME Keyring, KWallet); it never falls back to a file. On Linux install and "
            "unlock gnome-keyring (or KWallet) and log in to a desktop session, then try again"
        ),
    )


def require_secure(backend: object) -> KeyringBackend:
    """Return `backend` (or the secure backend a chainer wraps) if it keeps secrets safely, else raise."""
    chosen = _unwrap_chainer(backend)
    if is_insecure(chosen):
        raise _insecure_error(chosen)
    return chosen  # type: ignore[return-value]


def system_keyring() -> KeyringBackend:
    """The OS keyring that `keyring` picks on this machine, checked to be a secure one."""
    import keyring

    return require_secure(keyring.get_keyring())
