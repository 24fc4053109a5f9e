"""Where this installation's updates come from and whom it trusts: the update repository's address and the root
metadata (the trust anchor), both shipped in resources/update/ and overridable only on the installation itself
(a file in the config folder, as the demo writes), never by anything a server says."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.checked_files import read_json_object, shown
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.paths import AppPaths

SHIPPED = ("resources", "update")
CHANNEL_FILE = "channel.json"
ROOT_FILE = "root.json"
MAX_ROOT_BYTES = 512 * 1024
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ChannelError(FarNodeError):
    """The update channel is not set up: no repository address, or a trust anchor that cannot be read."""


@dataclass(frozen=True)
class UpdateChannel:
    """The repository (metadata/ and targets/ under `url`) and the root metadata this installation starts from."""

    url: str | None  # None: this build has no update server (a development build); checks are off
    trusted_root: bytes
    source: Path  # the folder the channel came from (shipped resources or the installation's override)

    @property
    def metadata_url(self) -> str:
        return f"{(self.url or '').rstrip('/')}/metadata/"

    @property
    def targets_url(self) -> str:
        return f"{(self.url or '').rstrip('/')}/targets/"


def shipped_dir() -> Path:
    """resources/update in a source checkout or a frozen build's bundle."""
    here = Path(__file__).resolve()
    for base in (here.parents[3], here.parents[2]):
        candidate = base.joinpath(*SHIPPED)
        if candidate.exists():
            return candidate
    return here.parents[3].joinpath(*SHIPPED)


def override_dir(paths: AppPaths) -> Path:
    """The installation's own channel (config/update/): the demo, a tester or an enterprise mirror puts one here."""
    return paths.config / "update"


def updates_dir(paths: AppPaths) -> Path:
    """What the client keeps: trusted metadata, verified targets, the last check's outcome."""
    return paths.data / "updates"


def check_url(url: object, where: Path) -> str | None:
    if url is None:
        return None
    if not isinstance(url, str) or len(url) > 2048:
        raise ChannelError(f"{where}: url is {shown(url)}, not an http(s) address")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelError(f"{where}: url {shown(url)} is not an http(s) address")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ChannelError(f"{where}: url {shown(url)} is plain http to another machine")
    return url


def load_channel(paths: AppPaths, shipped: Path | None = None) -> UpdateChannel:
    """The installation's override when it has one, else what the app ships; ChannelError says what is wrong."""
    folder = override_dir(paths)
    if not (folder / ROOT_FILE).exists():
        folder = shipped or shipped_dir()
    try:
        raw = read_json_object(folder / CHANNEL_FILE, 64 * 1024)
        with open(folder / ROOT_FILE, "rb") as fh:
            root = fh.read(MAX_ROOT_BYTES + 1)
    except (OSError, ValueError) as exc:
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ChannelError(f"the update channel in {folder} cannot be read: {text}",
                           hint="reinstall FarNode") from None
    if len(root) > MAX_ROOT_BYTES:
        raise ChannelError(f"{folder / ROOT_FILE} is larger than any root metadata", hint="reinstall FarNode")
    return UpdateChannel(check_url(raw.get("url"), folder / CHANNEL_FILE), root, folder)


def set_override(paths: AppPaths, url: str, root: bytes) -> Path:
    """Point this installation at another repository and trust anchor (the demo does, in its own home)."""
    folder = override_dir(paths)
    write_atomic(folder / ROOT_FILE, root, mode=0o644)
    write_atomic(folder / CHANNEL_FILE, json.dumps({"url": check_url(url, folder)}, indent=2) + "\n", mode=0o644)
    return folder
