"""FarNode's own releases in the update repository: which signed target is this PC's newest app, and staging it (a
bounded download checked against its signed length and hash, unpacked beside the running version, completed by one
rename). Nothing here touches the version that runs."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import platform
import shutil
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tuf.api.metadata import Targets

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.updates.app_layout import RELEASE_FILE, AppRoot, AppState, newer, parse_version

APP_PREFIX = "app/"
BUNDLE = "bundle"  # a frozen app folder as an archive (.tar.gz, .zip): what the updater applies
INSTALLER = "installer"  # a .deb or NSIS installer: published for new installs, never run by the updater
MAX_APP_BYTES = 1024 * 1024 * 1024
MAX_UNPACKED_BYTES = 4 * 1024 * 1024 * 1024
CHUNK_SPACE = 64 * 1024 * 1024  # kept free beyond what a release needs
Progress = Callable[[int, int], None]


class ReleaseRefused(FarNodeError):
    """A release is not staged; the message says why and that the running version is untouched."""


def this_platform() -> str:
    machine = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(platform.machine().lower(),
                                                                           platform.machine().lower())
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    return f"{system}-{machine}"


@dataclass(frozen=True)
class AppRelease:
    """One signed app target: its version, platform and kind come from the targets role's custom metadata."""

    name: str
    version: str
    platform: str
    kind: str
    length: int
    sha256: str
    entry: str
    unpacked_bytes: int | None = None

    def url(self, targets_url: str) -> str:
        folder, _, base = self.name.rpartition("/")  # consistent snapshot: the file is stored under its hash
        return f"{targets_url}{folder}/{self.sha256}.{base}"


def app_releases(targets: Targets) -> list[AppRelease]:
    """Every app target the (verified) targets metadata lists with usable custom metadata."""
    found = []
    for name, info in targets.targets.items():
        custom = info.unrecognized_fields.get("custom")
        app = custom.get("app") if isinstance(custom, dict) else None
        if not name.startswith(APP_PREFIX) or not isinstance(app, dict):
            continue
        version, entry, unpacked = app.get("version"), app.get("entry"), app.get("unpacked_bytes")
        if (parse_version(version) is None or not isinstance(app.get("platform"), str)
                or app.get("kind") not in (BUNDLE, INSTALLER) or not isinstance(entry, str)
                or not entry or "/" in entry or "\\" in entry or entry.startswith(".")
                or "sha256" not in info.hashes):
            continue
        found.append(AppRelease(name, str(version), app["platform"], app["kind"], int(info.length),
                                info.hashes["sha256"], entry, unpacked if isinstance(unpacked, int) else None))
    return found


def newest(releases: Iterable[AppRelease], running: str, refused: Iterable[str] = (),
           platform_name: str | None = None) -> AppRelease | None:
    """This platform's newest bundle newer than `running` and not refused before, or None."""
    wanted = platform_name or this_platform()
    skip = set(refused)
    best: AppRelease | None = None
    for release in releases:
        if release.platform != wanted or release.kind != BUNDLE or release.version in skip:
            continue
        if newer(release.version, running) and (best is None or newer(release.version, best.version)):
            best = release
    return best


def write_chunk(fh: IO[bytes], chunk: bytes) -> None:
    """The disk boundary of a download (tests put a full disk here)."""
    fh.write(chunk)


def _refuse(text: str) -> ReleaseRefused:
    return ReleaseRefused(f"{text}; the running FarNode is untouched")


def _download(release: AppRelease, target: Path, chunks: Iterable[bytes], progress: Progress | None,
              write: Callable[[IO[bytes], bytes], None]) -> None:
    digest = hashlib.sha256()
    done = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as fh:  # a download cut off earlier starts over
        for chunk in chunks:
            done += len(chunk)
            if done > release.length:
                raise _refuse(f"the update server sent more than the {release.length:,} bytes FarNode "
                              f"{release.version} is signed to have")
            write(fh, chunk)
            digest.update(chunk)
            if progress is not None:
                progress(done, release.length)
        fh.flush()
        os.fsync(fh.fileno())
    if done != release.length or digest.hexdigest() != release.sha256:
        raise _refuse(f"the download of FarNode {release.version} does not match its signed length and hash")


def _members_size(archive: Path) -> int:
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            return sum(i.file_size for i in zf.infolist())
    with tarfile.open(archive, "r:*") as tf:
        return sum(m.size for m in tf.getmembers())


def _unpack(archive: Path, into: Path) -> None:
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                path = (into / info.filename).resolve()
                if not path.is_relative_to(into.resolve()):
                    raise _refuse(f"the release archive holds a path outside its folder ({info.filename[:100]})")
                zf.extract(info, into)
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    os.chmod(path, mode & 0o755)
        return
    with tarfile.open(archive, "r:*") as tf:
        try:
            tf.extractall(into, filter="data")  # no absolute paths, no links out, no device files
        except tarfile.FilterError as exc:
            raise _refuse(f"the release archive is not a plain folder ({exc})") from None


def stage_release(root: AppRoot, release: AppRelease, chunks: Callable[[], Iterable[bytes]], *,
                  progress: Progress | None = None,
                  write: Callable[[IO[bytes], bytes], None] = write_chunk) -> AppState:
    """Download (restarted from nothing if a previous one was cut off), verify, unpack into versions/<v>.partial,
    then rename into versions/<v> and mark it staged. A version already unpacked from the same file is reused."""
    if release.length > MAX_APP_BYTES:
        raise _refuse(f"FarNode {release.version} would be {release.length:,} bytes, more than FarNode accepts "
                      f"({MAX_APP_BYTES:,})")
    if (release.unpacked_bytes or 0) > MAX_UNPACKED_BYTES:
        raise _refuse(f"FarNode {release.version} would unpack to more than {MAX_UNPACKED_BYTES:,} bytes")
    info = root.release_info(release.version)
    if info is not None and info.get("sha256") == release.sha256:
        return root.stage(release.version)
    root.versions.mkdir(parents=True, exist_ok=True)
    needed = release.length + (release.unpacked_bytes or 3 * release.length) + CHUNK_SPACE
    free = shutil.disk_usage(root.folder).free
    if free < needed:
        raise _refuse(f"the disk has {free / 2**20:,.0f} MiB free, FarNode {release.version} needs "
                      f"{needed / 2**20:,.0f} MiB; free some space and FarNode tries again")
    archive = root.downloads / f"{release.sha256}.{release.name.rpartition('/')[2]}"
    partial = root.versions / f"{release.version}.partial"
    final = root.version_dir(release.version)
    try:
        _download(release, archive, chunks(), progress, write)
        if _members_size(archive) > min(MAX_UNPACKED_BYTES, (release.unpacked_bytes or MAX_UNPACKED_BYTES) + 4096):
            raise _refuse(f"FarNode {release.version} unpacks to more than it is signed to")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        _unpack(archive, partial)
        inside = list(partial.iterdir())
        bundle = inside[0] if len(inside) == 1 and inside[0].is_dir() else partial
        if not (bundle / release.entry).is_file():
            raise _refuse(f"FarNode {release.version}'s archive has no {release.entry} to start")
        record: dict[str, Any] = {"version": release.version, "entry": release.entry, "sha256": release.sha256,
                                  "platform": release.platform, "target": release.name}
        (bundle / RELEASE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)  # an earlier copy that was damaged or from another file
        os.rename(bundle, final)  # the commit point: before it nothing is complete, after it all is
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise _refuse(f"the disk filled up while FarNode {release.version} was being staged; the partial "
                          f"files were removed") from None
        raise _refuse(f"FarNode {release.version} could not be staged ({exc.strerror or exc})") from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise _refuse(f"FarNode {release.version}'s archive cannot be unpacked ({exc})") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # what an interrupted unpack left (after the rename: nothing)
        with contextlib.suppress(OSError):
            archive.unlink()
    return root.stage(release.version)
