"""A second node runtime for the runtime-update tests, cheaply: a hard-link clone of the test runtime, and locks
that differ from its lock in one small pure-Python wheel, built here from the installed package with a new version."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from farnode_desktop.core.node.runtime import MARKER, NodeRuntime
from farnode_desktop.core.node.runtime_versions import clone_tree, relocate
from farnode_desktop.devnet import runtime_release


def test_runtime() -> NodeRuntime:
    return NodeRuntime(Path(os.environ.get("FARNODE_RUNTIME_DIR", ".farnode-test/runtime")).resolve())


def clone_runtime(target: Path) -> NodeRuntime:
    """A working copy of the test runtime at `target` (hard links; relocated; its marker and lock copied)."""
    source = test_runtime()
    clone_tree(source.location, target)
    relocate(target, source.location)
    (target / MARKER).write_bytes((source.location / MARKER).read_bytes())
    return NodeRuntime(target)


def variant_wheel(runtime: NodeRuntime, dist: str, version: str, out: Path,
                  patch: dict[str, bytes] | None = None) -> Path:
    """A wheel of the installed `dist` under a new `version` (the demo's release builds its wheel the same way)."""
    return runtime_release.variant_wheel(runtime, dist, version, out, patch)


def lock_with(runtime: NodeRuntime, dist: str, wheel: Path) -> bytes:
    """The runtime's lock with `dist` pinned to `wheel` (its version and sha256)."""
    return runtime_release.lock_with(runtime.lock.read_text(), dist, wheel).encode()


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
