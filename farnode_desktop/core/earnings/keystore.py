"""The keyring boundary: which OS keyring holds the wallet key. Only the OS keyrings named here are accepted."""

from __future__ import annotations

import sys
from typing import Protocol

from farnode_desktop.core.errors import FarNodeError

# The OS keyrings FarNode keeps a key in, by exact class: Windows Credential Manager, the macOS Keychain, a Secret
# Service (GNOME Keyring, KeePassXC; through D-Bus or libsecret) and KWallet. Everything else a `keyring` plugin can
# offer (keyrings.alt's files, keyrings.cryptfile, fail, null, any future one) is refused: an allow-list, because a
# deny-list lets the next file-backed plugin through.
OS_KEYRINGS = frozenset({
    ("keyring.backends.Windows", "WinVaultKeyring"),
    ("keyring.backends.macOS", "Keyring"),
    ("keyring.backends.SecretService", "Keyring"),
    ("keyring.backends.libsecret", "Keyring"),
    ("keyring.backends.kwallet", "DBusKeyring"),
    ("keyring.backends.kwallet", "DBusKeyringKWallet4"),
})


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


def _is_class(backend: object, allowed: frozenset[tuple[str, str]]) -> bool:
    """`backend` is exactly one of `allowed`: the class found under that name in its module, not a look-alike."""
    cls = type(backend)
    module, name = getattr(cls, "__module__", ""), cls.__qualname__
    if (module, name) not in allowed:
        return False
    return getattr(sys.modules.get(module), name, None) is cls


def is_os_keyring(backend: object) -> bool:
    return _is_class(backend, OS_KEYRINGS)


def _is_keyring_plugin(backend: object) -> bool:
    """A backend from the `keyring` plugin world (anything a user's configuration or an installed package can pick)."""
    from keyring.backend import KeyringBackend as PluginBase

    module = str(getattr(type(backend), "__module__", ""))
    return isinstance(backend, PluginBase) or module.split(".", maxsplit=1)[0] in ("keyring", "keyrings")


def is_insecure(backend: object) -> bool:
    """A keyring plugin that is not one of the OS keyrings FarNode accepts."""
    return _is_keyring_plugin(backend) and not is_os_keyring(backend)


def _unwrap_chainer(backend: object) -> object:
    """A chainer writes to its first backend: use the first OS keyring it holds, never anything else."""
    from keyring.backends.chainer import ChainerBackend

    if not (isinstance(backend, ChainerBackend) or type(backend).__name__ == "ChainerBackend"):
        return backend
    accepted = [b for b in getattr(backend, "backends", []) if is_os_keyring(b)]
    if not accepted:
        raise _insecure_error(backend)
    return accepted[0]


def _insecure_error(backend: object) -> KeyringUnavailable:
    return KeyringUnavailable(
        f"no secure OS keyring is available for the wallet key (found {backend_name(backend)}); "
        "nothing was stored",
        hint=(
            "FarNode keeps the key only in Windows Credential Manager, the macOS Keychain, a Secret Service "
            "keyring (GNOME Keyring) or KWallet; it never falls back to a file, encrypted or not. On Linux install "
            "and unlock gnome-keyring (or KWallet) and log in to a desktop session, then try again"
        ),
    )


def require_secure(backend: object) -> KeyringBackend:
    """Return `backend` (or the OS keyring a chainer wraps) if FarNode may keep a key in it, else raise.

    Keyring plugins pass only if they are on the OS keyring allow-list. An object that is no keyring plugin at all
    was handed in by code (the demo's in-memory keyring, a test's boundary fake), never picked by the environment.
    """
    chosen = _unwrap_chainer(backend)
    if is_insecure(chosen):
        raise _insecure_error(chosen)
    return chosen  # type: ignore[return-value]


def _keyring_config() -> str:
    """Where `keyring` took its backend from, in words: the environment variable, or its keyringrc.cfg."""
    import os

    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return f"PYTHON_KEYRING_BACKEND={os.environ['PYTHON_KEYRING_BACKEND'][:80]!r}"
    try:
        from keyring.util import platform_

        return f"the keyring configuration file {platform_.config_root()}/keyringrc.cfg"
    except Exception:
        return "the keyring configuration"


def system_keyring() -> KeyringBackend:
    """The OS keyring that `keyring` picks on this machine, accepted only if it is on the allow-list. A keyring
    configuration that names a backend that cannot be loaded (or a damaged keyringrc.cfg) is a plain error."""
    import keyring

    try:
        found = keyring.get_keyring()
    except Exception as exc:  # keyring loads what the configuration names: any import or attribute error
        raise KeyringUnavailable(
            f"the keyring backend set by {_keyring_config()} cannot be loaded ({type(exc).__name__}: "
            f"{str(exc)[:200]}); nothing was read or stored",
            hint="remove that setting (unset PYTHON_KEYRING_BACKEND, or fix or delete keyringrc.cfg) so the OS "
                 "keyring is used, then try again",
        ) from None
    chosen = _unwrap_chainer(found)
    if not is_os_keyring(chosen):
        raise _insecure_error(chosen)
    return chosen  # type: ignore[return-value]
