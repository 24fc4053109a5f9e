"""A node-runtime release for the demo (and the runtime-update tests), built offline from what this PC already has:
the current runtime's lock with one small pure-Python package moved to a new version, whose wheel is rebuilt here
from the installed files (nothing downloaded) and served from a local folder the lock names."""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.runtime_lock import metadata_path

DEMO_PACKAGE = "six"  # pure Python, one module, installed in every runtime; nothing imports its version
DEMO_SUFFIX = ".post1"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def installed_version(runtime: NodeRuntime, dist: str) -> str:
    info = next(runtime.site_packages.glob(f"{dist}-*.dist-info"), None)
    if info is None:
        raise FarNodeError(f"the node runtime at {runtime.location} has no {dist} to build a release from")
    return info.name[len(dist) + 1:-len(".dist-info")]


def variant_wheel(runtime: NodeRuntime, dist: str, version: str, out: Path,
                  patch: dict[str, bytes] | None = None) -> Path:
    """A wheel of the installed `dist` under a new `version` (files from its RECORD; `patch` replaces some)."""
    old_version = installed_version(runtime, dist)
    info = runtime.site_packages / f"{dist}-{old_version}.dist-info"
    files: dict[str, bytes] = {}
    for line in (info / "RECORD").read_text().splitlines():
        rel = line.rsplit(",", 2)[0]
        if not rel or rel.startswith("..") or "__pycache__" in rel or ".dist-info/" in rel:
            continue
        files[rel] = (runtime.site_packages / rel).read_bytes()
    files.update(patch or {})
    meta = re.sub(rf"(?m)^Version: {re.escape(old_version)}$", f"Version: {version}", (info / "METADATA").read_text())
    new_info = f"{dist}-{version}.dist-info"
    files[f"{new_info}/METADATA"] = meta.encode()
    files[f"{new_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: farnode-devnet\nRoot-Is-Purelib: true\n"
                                  b"Tag: py3-none-any\n")
    record = "".join(f"{n},{_record_hash(d)},{len(d)}\n" for n, d in files.items()) + f"{new_info}/RECORD,,\n"
    files[f"{new_info}/RECORD"] = record.encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return wheel


def lock_with(lock_text: str, dist: str, wheel: Path) -> str:
    """`lock_text` with `dist` pinned to `wheel` (its version and sha256)."""
    version = wheel.name[len(dist) + 1:].split("-", 1)[0]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pattern = re.compile(rf"(?mi)^{re.escape(dist)}==\S+(?:\s*\\\n\s*--hash=sha256:[0-9a-f]+)+")
    new, count = pattern.subn(f"{dist}=={version} \\\\\n    --hash=sha256:{digest}", lock_text)
    if count != 1:
        raise FarNodeError(f"{dist} is not pinned once in the node runtime's lock")
    return new


@dataclass(frozen=True)
class RuntimeRelease:
    """A lock (and its metadata) that differs from the current runtime's in one package."""

    lock: bytes
    info: bytes
    package: str
    old_version: str
    new_version: str
    wheels: Path

    @property
    def summary(self) -> str:
        return f"{self.package} {self.old_version} -> {self.new_version}"


def one_wheel_release(runtime: NodeRuntime, wheels: Path, dist: str = DEMO_PACKAGE) -> RuntimeRelease:
    """The current runtime's lock with `dist` rebuilt as `<version>.post1` into `wheels`; the lock tells pip to
    take packages from that folder only (`--no-index`), so preparing it works offline. Every other pin (and
    hash) is the current lock's, so pip changes that one package alone."""
    old = installed_version(runtime, dist)
    new = old + DEMO_SUFFIX
    patch = {}
    module = runtime.site_packages / f"{dist}.py"
    if module.is_file():  # the module says its new version too, so `import six; six.__version__` shows the switch
        patch[f"{dist}.py"] = module.read_bytes().replace(f'__version__ = "{old}"'.encode(),
                                                          f'__version__ = "{new}"'.encode())
    wheel = variant_wheel(runtime, dist, new, wheels, patch)
    text = lock_with(runtime.lock.read_text(), dist, wheel)
    header = (f"# The demo's node-runtime release: {dist} {old} -> {new}, rebuilt on this PC; pip reads wheels from\n"
              f"# this folder only, checked against the hashes below.\n--no-index\n--find-links {wheels.as_uri()}\n")
    info_file = runtime.location / "farnode-lock.json"
    if not info_file.is_file():
        info_file = metadata_path(runtime.lock)
    return RuntimeRelease((header + text).encode(), info_file.read_bytes(), dist, old, new, wheels)
