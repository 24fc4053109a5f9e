"""A FarNode update repository in TUF's format (root, targets, snapshot, timestamp): create it, publish into it,
rotate its keys. The demo and the tests build theirs here; Far Labs' release process runs scripts/update_repo.py."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Role,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.updates.app_layout import parse_version

ROLES = ("root", "targets", "snapshot", "timestamp")
DEFAULT_THRESHOLDS = {"root": 1, "targets": 1, "snapshot": 1, "timestamp": 1}
DEFAULT_LIFETIMES = {"root": timedelta(days=365), "targets": timedelta(days=90), "snapshot": timedelta(days=7),
                     "timestamp": timedelta(days=1)}
# What a release publishes, by target path (the client downloads the first two; the rest wait for the next phase)
NETWORK_MANIFEST = "network/manifest.json"
MODEL_CATALOG = "catalog/models.json"
RUNTIME_LOCK = "runtime/lock.txt"
RUNTIME_INFO = "runtime/runtime.json"


class RepositoryError(FarNodeError):
    """The repository or its keys folder cannot be used as asked."""


@dataclass
class UpdateRepository:
    """The repository in `folder` (metadata/ and targets/, served as they are), signed with the keys in `keys`
    (one PEM file per key, `<role>.<keyid>.pem`, outside the repository)."""

    folder: Path
    keys: Path
    now: Callable[[], float] = time.time

    @property
    def metadata_dir(self) -> Path:
        return self.folder / "metadata"

    @property
    def targets_dir(self) -> Path:
        return self.folder / "targets"

    def _expiry(self, role: str, lifetime: timedelta | None = None) -> datetime:
        now = datetime.fromtimestamp(self.now(), tz=UTC).replace(microsecond=0)
        return now + (lifetime if lifetime is not None else DEFAULT_LIFETIMES[role])

    # ----- keys -----
    def new_signer(self, role: str) -> CryptoSigner:
        """A fresh ed25519 key for `role`, written to the keys folder (owner-only)."""
        signer = CryptoSigner.generate_ed25519()
        write_atomic(self.keys / f"{role}.{signer.public_key.keyid}.pem", signer.private_bytes, mode=0o600)
        return signer

    def signers(self, role: str, root: Root | None = None) -> list[CryptoSigner]:
        """Every key in the keys folder that `root` (the current one by default) names for `role`."""
        root = root or self.load("root", Root).signed
        found = []
        for keyid in root.roles[role].keyids:
            path = self.keys / f"{role}.{keyid}.pem"
            if path.exists():
                private = load_pem_private_key(path.read_bytes(), password=None)
                found.append(CryptoSigner(private, root.get_key(keyid)))  # type: ignore[arg-type]
        if not found:
            raise RepositoryError(f"the keys folder {self.keys} holds no {role} key of this repository")
        return found

    # ----- metadata files -----
    def _file(self, role: str, version: int) -> Path:
        return self.metadata_dir / ("timestamp.json" if role == "timestamp" else f"{version}.{role}.json")

    def load(self, role: str, kind: type[Any] = Root) -> Metadata[Any]:
        """The role's current metadata (`kind` documents which; the file says its own type)."""
        versions = [int(p.name.split(".")[0]) for p in self.metadata_dir.glob("*.root.json")]
        if not versions:
            raise RepositoryError(f"{self.folder} is not an update repository (no root metadata)")
        if role == "root":
            return Metadata.from_file(str(self._file("root", max(versions))))
        if role == "timestamp":
            return Metadata.from_file(str(self._file("timestamp", 0)))
        snapshot = self.load("timestamp").signed.snapshot_meta.version
        if role == "snapshot":
            return Metadata.from_file(str(self._file("snapshot", snapshot)))
        meta = Metadata[Snapshot].from_file(str(self._file("snapshot", snapshot))).signed.meta
        return Metadata.from_file(str(self._file(role, meta[f"{role}.json"].version)))

    def write(self, metadata: Metadata[Any], signers: list[CryptoSigner]) -> Path:
        """Sign with every given key (replacing old signatures) and write the role's file."""
        metadata.signatures.clear()
        for signer in signers:
            metadata.sign(signer, append=True)
        role = metadata.signed.type
        path = self._file(role, metadata.signed.version)
        write_atomic(path, metadata.to_bytes(JSONSerializer(compact=False)), mode=0o644)
        if role == "root":
            write_atomic(self.metadata_dir / "root.json", path.read_bytes(), mode=0o644)
        return path

    # ----- the life of a repository -----
    def init(self, thresholds: Mapping[str, int] | None = None) -> Path:
        """Keys for every role (threshold many each), root v1 and empty targets, snapshot and timestamp."""
        if any(self.metadata_dir.glob("*.root.json")):
            raise RepositoryError(f"{self.folder} already holds an update repository")
        wanted = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        root = Root(expires=self._expiry("root"), consistent_snapshot=True)
        signers: dict[str, list[CryptoSigner]] = {}
        for role in ROLES:
            signers[role] = [self.new_signer(role) for _ in range(wanted[role])]
            root.roles[role] = Role([], wanted[role])
            for signer in signers[role]:
                root.add_key(signer.public_key, role)
        root_path = self.write(Metadata(root), signers["root"])
        self.write(Metadata(Targets(expires=self._expiry("targets"))), signers["targets"])
        self._bump_snapshot(1, root)
        return root_path

    def publish(self, files: Mapping[str, bytes], custom: Mapping[str, dict[str, Any]] | None = None) -> int:
        """Add (or replace) these targets, sign a new targets version, then a new snapshot and timestamp.
        Returns the new targets version."""
        targets = self.load("targets", Targets)
        for name, data in files.items():
            info = TargetFile.from_data(name, data, ["sha256"])
            if custom and name in custom:
                info.unrecognized_fields["custom"] = custom[name]
            targets.signed.targets[name] = info
            folder, _, base = name.rpartition("/")
            digest = hashlib.sha256(data).hexdigest()
            write_atomic(self.targets_dir / folder / f"{digest}.{base}", data, mode=0o644)
        targets.signed.version += 1
        targets.signed.expires = self._expiry("targets")
        root = self.load("root").signed
        self.write(targets, self.signers("targets", root))
        self._bump_snapshot(targets.signed.version, root)
        return int(targets.signed.version)

    def _bump_snapshot(self, targets_version: int, root: Root) -> None:
        if self._file("timestamp", 0).exists():
            snapshot = self.load("snapshot", Snapshot)
            snapshot.signed.version += 1
        else:
            snapshot = Metadata(Snapshot(expires=self._expiry("snapshot")))
        snapshot.signed.meta["targets.json"] = MetaFile(targets_version)
        snapshot.signed.expires = self._expiry("snapshot")
        self.write(snapshot, self.signers("snapshot", root))
        self.refresh_timestamp(snapshot_version=snapshot.signed.version, root=root)

    def refresh_timestamp(self, *, snapshot_version: int | None = None, root: Root | None = None,
                          lifetime: timedelta | None = None, version: int | None = None) -> int:
        """A new timestamp (what a server re-signs every few hours so clients know nothing is frozen)."""
        root = root or self.load("root").signed
        path = self._file("timestamp", 0)
        if path.exists():
            timestamp = Metadata[Timestamp].from_file(str(path))
            timestamp.signed.version = version if version is not None else timestamp.signed.version + 1
        else:
            timestamp = Metadata(Timestamp(expires=self._expiry("timestamp")))
        if snapshot_version is not None:
            timestamp.signed.snapshot_meta = MetaFile(snapshot_version)
        timestamp.signed.expires = self._expiry("timestamp", lifetime)
        self.write(timestamp, self.signers("timestamp", root))
        return int(timestamp.signed.version)

    def rotate(self, role: str, threshold: int | None = None) -> int:
        """New keys for `role` in a new root version, signed by the old root keys and (for root) the new ones;
        the role's own metadata is re-signed with its new keys. Returns the new root version."""
        old = self.load("root")
        old_signers = self.signers("root", old.signed)
        new = Metadata[Root].from_dict(old.to_dict())
        count = threshold or new.signed.roles[role].threshold
        for keyid in list(new.signed.roles[role].keyids):
            new.signed.revoke_key(keyid, role)
        fresh = [self.new_signer(role) for _ in range(count)]
        for signer in fresh:
            new.signed.add_key(signer.public_key, role)
        new.signed.roles[role].threshold = count
        new.signed.version += 1
        new.signed.expires = self._expiry("root")
        self.write(new, old_signers + (fresh if role == "root" else []))
        if role == "timestamp":
            self.refresh_timestamp(root=new.signed, version=1)  # a fast-forwarded timestamp is forgotten
        elif role in ("snapshot", "targets"):
            metadata = self.load(role, Snapshot if role == "snapshot" else Targets)
            metadata.signed.version += 1
            self.write(metadata, fresh)
            if role == "targets":
                self._bump_snapshot(metadata.signed.version, new.signed)
            else:
                self.refresh_timestamp(snapshot_version=metadata.signed.version, root=new.signed)
        return int(new.signed.version)

    def public_key(self, role: str) -> SSlibKey:
        root = self.load("root").signed
        key = root.get_key(root.roles[role].keyids[0])
        assert isinstance(key, SSlibKey)
        return key

    def root_bytes(self, version: int = 1) -> bytes:
        return self._file("root", version).read_bytes()


class LoopbackRepositoryServer:
    """Serves a repository folder over HTTP on this PC only (the demo's update server), on a thread of its own."""

    def __init__(self, folder: Path, host: str = "127.0.0.1") -> None:
        folder = folder.resolve()

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(folder), **kwargs)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="update-repository", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def publish_demo_release(folder: Path, manifest: bytes, catalog: bytes) -> UpdateRepository:
    """A fresh repository for one demo run (its throwaway keys beside it, in the demo's own data folder), with the
    devnet's network manifest and the catalog published as release 2."""
    shutil.rmtree(folder, ignore_errors=True)
    repo = UpdateRepository(folder / "repository", folder / "keys")
    repo.init()
    repo.publish({NETWORK_MANIFEST: manifest, MODEL_CATALOG: catalog})
    return repo


# ----- app releases (issue 20, phase 2): the frozen app as a target whose custom metadata says what it is -----
APP_FORMATS = {".tar.gz": "bundle", ".zip": "bundle", ".deb": "installer", ".exe": "installer"}


def app_target(file_name: str, platform: str) -> str:
    """Where an app release lives in the repository: app/<platform>/<file name>."""
    return f"app/{platform}/{file_name}"


def unpacked_size(data: bytes, file_name: str) -> int | None:
    """What a bundle archive unpacks to (the client checks its disk for it first); None for an installer."""
    import io
    import tarfile
    import zipfile

    if file_name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return sum(i.file_size for i in zf.infolist())
    if file_name.endswith(".tar.gz"):
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
            return sum(m.size for m in tf.getmembers())
    return None


def publish_app_release(repo: UpdateRepository, data: bytes, file_name: str, version: str, platform: str,
                        entry: str) -> tuple[str, int]:
    """Sign one app release (a bundle archive the updater applies, or an installer for new installs) into a new
    targets version; returns (target name, targets version)."""
    kind = next((k for suffix, k in APP_FORMATS.items() if file_name.endswith(suffix)), None)
    if kind is None:
        raise RepositoryError(f"{file_name}: an app release is a .tar.gz or .zip bundle, or a .deb or .exe installer")
    if parse_version(version) is None:
        raise RepositoryError(f"{version!r} is not a release version (dotted numbers, as 0.2.0)")
    name = app_target(file_name, platform)
    custom = {"app": {"version": version, "platform": platform, "kind": kind, "entry": entry,
                      "unpacked_bytes": unpacked_size(data, file_name)}}
    return name, repo.publish({name: data}, custom={name: custom})
