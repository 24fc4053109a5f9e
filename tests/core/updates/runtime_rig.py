"""A second node runtime for the runtime-update tests, cheaply: a hard-link clone of the test runtime, and locks
that differ from its lock in one small pure-Python wheel, built here from the installed package with a new version."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import zipfile
from pathlib import Path

from farnode_desktop.core.node.runtime import MARKER, NodeRuntime
from farnode_desktop.core.node.runtime_versions import clone_tree, relocate


def test_runtime() -> NodeRuntime:
    return NodeRuntime(Path(os.environ.get("FARNODE_RUNTIME_DIR", ".farnode-test/runtime")).resolve())


def clone_runtime(target: Path) -> NodeRuntime:
    """A working copy of the test runtime at `target` (hard links; relocated; its marker and lock copied)."""
    source = test_runtime()
    clone_tree(source.location, target)
    relocate(target, source.location)
    (target / MARKER).write_bytes((source.location / MARKER).read_bytes())
    return NodeRuntime(target)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def variant_wheel(runtime: NodeRuntime, dist: str, version: str, out: Path,
                  patch: dict[str, bytes] | None = None) -> Path:
    """A wheel of the installed `dist` under a new `version` (files from its RECORD; `patch` replaces some)."""
    info = next(runtime.site_packages.glob(f"{dist}-*.dist-info"))
    old_version = info.name[len(dist) + 1:-len(".dist-info")]
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
    files[f"{new_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: farnode-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = "".join(f"{n},{_record_hash(d)},{len(d)}\n" for n, d in files.items()) + f"{new_info}/RECORD,,\n"
    files[f"{new_info}/RECORD"] = record.encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info_ = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            zf.writestr(info_, data)
    return wheel


def lock_with(runtime: NodeRuntime, dist: str, wheel: Path) -> bytes:
    """The runtime's lock with `dist` pinned to `wheel` (its version and sha256)."""
    version = wheel.name[len(dist) + 1:].split("-", 1)[0]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    text = runtime.lock.read_text()
    pattern = re.compile(rf"(?mi)^{re.escape(dist)}==\S+(?:\s*\\\n\s*--hash=sha256:[0-9a-f]+)+")
    new, count = pattern.subn(f"{dist}=={version} \\\\\n    --hash=sha256:{digest}", text)
    assert count == 1, f"{dist} is not pinned once in {runtime.lock}"
    return new.encode()


def fingerprint(folder: Path, hash_below: int = 256 * 1024) -> dict[str, tuple[int, int, int, str]]:
    """Every entry under `folder`: (inode, size, mtime_ns, sha256 of files below `hash_below` bytes or '')."""
    seen: dict[str, tuple[int, int, int, str]] = {}
    for root, dirs, names in os.walk(folder):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            st = os.lstat(path)
            digest = ""
            if os.path.isfile(path) and not os.path.islink(path) and st.st_size < hash_below:
                with open(path, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
            seen[os.path.relpath(path, folder)] = (st.st_ino, st.st_size, st.st_mtime_ns, digest)
    return seen
