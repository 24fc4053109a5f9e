"""The update client: refresh the update repository's metadata (TUF's client workflow), then download, verify and
install the network manifest and the model catalog into the data folder. Anything that fails verification changes
nothing that is installed, and the outcome says why in plain words."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tuf.api import exceptions
from tuf.api.metadata import Metadata, Targets
from tuf.api.serialization import DeserializationError
from tuf.ngclient import Updater, UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.earnings.network import ManifestError, parse_manifest, verified_manifest_path
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.gpus.catalog import Catalog, verified_catalog_path
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.channel import ChannelError, load_channel, updates_dir
from farnode_desktop.core.updates.fetcher import BoundedFetcher
from farnode_desktop.core.updates.words import plain_reason

NETWORK_MANIFEST = "network/manifest.json"
MODEL_CATALOG = "catalog/models.json"
MAX_TARGET_BYTES = {NETWORK_MANIFEST: 256 * 1024, MODEL_CATALOG: 1024 * 1024}
STATUS_FILE = "status.json"
Writer = Callable[[Path, bytes], None]


def _write(path: Path, data: bytes) -> None:
    write_atomic(path, data, mode=0o644)


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: `ok` False means nothing installed changed, and `message` says why."""

    ok: bool
    message: str
    checked_at: float
    installed: list[str] = field(default_factory=list)  # targets newly installed by this check
    unchanged: list[str] = field(default_factory=list)
    available: dict[str, str] = field(default_factory=dict)  # other published targets (app, runtime): sha256
    targets_version: int | None = None
    channel: str | None = None
    refused: bool = False  # the server offered something that failed verification (not merely offline)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _validate(name: str, data: bytes) -> None:
    """A signed target must still be one this FarNode can use before it replaces anything."""
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise FarNodeError(f"the signed {name} is not JSON ({exc})") from None
    if name == NETWORK_MANIFEST:
        parse_manifest(raw, "the signed network manifest")
    else:
        Catalog.parse(raw, "the signed model catalog")


class UpdateClient:
    """Checks the installation's update channel; `fetcher` is the HTTP boundary, `writer` the disk's."""

    def __init__(self, paths: AppPaths, *, fetcher: FetcherInterface | None = None, writer: Writer = _write,
                 clock: Callable[[], float] = time.time, shipped: Path | None = None) -> None:
        self.paths = paths
        self.folder = updates_dir(paths)
        self._fetcher = fetcher or BoundedFetcher()
        self._writer = writer
        self._clock = clock
        self._shipped = shipped
        self.destinations = {NETWORK_MANIFEST: verified_manifest_path(paths), MODEL_CATALOG: verified_catalog_path(paths)}

    def _updater(self, metadata: str, targets: str, anchor: bytes) -> Updater:
        """TUF's updater over the trusted metadata kept here; a new trust anchor (the app shipped another, or the
        installation was pointed elsewhere) starts the trusted metadata over from it."""
        folder = self.folder / "metadata"
        stamp = folder / "anchor.sha256"
        digest = hashlib.sha256(anchor).hexdigest()
        bootstrap: bytes | None = None
        if not stamp.exists() or stamp.read_text(encoding="ascii", errors="replace").strip() != digest:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            bootstrap = anchor
        config = UpdaterConfig(timestamp_max_length=16 * 1024, snapshot_max_length=256 * 1024,
                               targets_max_length=1024 * 1024, root_max_length=512 * 1024)

        def updater(start: bytes | None) -> Updater:
            return Updater(str(folder), metadata, str(self.folder / "downloads"), targets, self._fetcher, config,
                           bootstrap=start)

        if bootstrap is None:
            try:
                return updater(None)
            except (OSError, ValueError, exceptions.RepositoryError, DeserializationError):
                # the trusted copy was damaged on disk: start over from the anchor, which the app ships
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                bootstrap = anchor
        made = updater(bootstrap)
        write_atomic(stamp, digest + "\n", mode=0o644)
        return made

    def check(self) -> CheckResult:
        """Refresh the metadata, then install each changed, verified target; never raises a FarNodeError."""
        now = self._clock()
        try:
            channel = load_channel(self.paths, self._shipped)
        except ChannelError as exc:
            return self._record(CheckResult(False, str(exc), now))
        if channel.url is None:
            return self._record(CheckResult(True, "this build has no update server; nothing to check", now))
        try:
            result = self._check(channel.metadata_url, channel.targets_url, channel.trusted_root, now)
        except (exceptions.RepositoryError, exceptions.DownloadError, OSError, ValueError, FarNodeError) as exc:
            refused = isinstance(exc, (exceptions.RepositoryError, exceptions.DownloadLengthMismatchError,
                                       FarNodeError))
            result = CheckResult(False, plain_reason(exc), now, refused=refused)
        return self._record(CheckResult(**{**result.to_json(), "channel": channel.url}))

    def _check(self, metadata: str, targets: str, anchor: bytes, now: float) -> CheckResult:
        (self.folder / "downloads").mkdir(parents=True, exist_ok=True)
        updater = self._updater(metadata, targets, anchor)
        updater.refresh()
        staged: dict[str, bytes] = {}
        unchanged: list[str] = []
        for name, destination in self.destinations.items():
            info = updater.get_targetinfo(name)
            if info is None:
                continue
            if info.length > MAX_TARGET_BYTES[name]:
                raise FarNodeError(f"the signed {name} would be {info.length:,} bytes, more than FarNode accepts")
            if destination.is_file():
                with destination.open("rb") as fh:
                    try:
                        info.verify_length_and_hashes(fh)
                        unchanged.append(name)
                        continue
                    except exceptions.LengthOrHashMismatchError:
                        pass
            path = updater.download_target(info, str(self.folder / "downloads" / name.replace("/", "-")))
            data = Path(path).read_bytes()
            Path(path).unlink()
            try:
                _validate(name, data)
            except (FarNodeError, ManifestError) as exc:
                raise FarNodeError(f"{exc}; nothing was installed") from None
            staged[name] = data
        for name, data in staged.items():  # every target verified before any is installed
            self._writer(self.destinations[name], data)
        listing = Metadata[Targets].from_file(str(self.folder / "metadata" / "targets.json")).signed  # verified
        available = {n: (t.hashes.get("sha256") or "") for n, t in listing.targets.items()
                     if n not in self.destinations}
        version = int(listing.version)
        message = (f"installed {', '.join(staged)}" if staged else "up to date") + f" (release {version})"
        return CheckResult(True, message, now, list(staged), unchanged, available, version)

    def _record(self, result: CheckResult) -> CheckResult:
        with contextlib.suppress(OSError):  # the outcome is still returned: a full disk must not crash a check
            _write(self.folder / STATUS_FILE, (json.dumps(result.to_json(), indent=2) + "\n").encode())
        return result


def last_check(paths: AppPaths) -> CheckResult | None:
    """The last check's outcome as recorded, or None when there was none (or the record is unreadable)."""
    try:
        raw = json.loads((updates_dir(paths) / STATUS_FILE).read_text(encoding="utf-8"))
        return CheckResult(**{k: raw[k] for k in CheckResult.__dataclass_fields__ if k in raw})
    except (OSError, ValueError, TypeError, KeyError):
        return None
