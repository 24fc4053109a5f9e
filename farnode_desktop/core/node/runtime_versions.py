"""The node runtime's versions on disk: the folder every node runs from (`location`, a link to the current version
once a runtime update has happened), the versions kept beside it, the pointer that says which is current (written
atomically), and the hard-link clone a new version is prepared in while the nodes serve on from the current one."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.checked_files import read_json_object
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.runtime import MARKER, OWN_LOCK, NodeRuntime

POINTER = "current.json"  # {"current": id, "previous": id | null}
MIGRATING = "migrating.json"  # {"id": ...}: the first switch is moving the original folder in among the versions
READY = "farnode-ready.json"  # written last into a prepared version: it passed `runtime check` and a real node's check
_LINK_TMP = ".link-tmp"
Step = Callable[[str], None]  # told each step of a switch by name (the SIGKILL tests stop at one)


def version_id(lock: bytes) -> str:
    return hashlib.sha256(lock).hexdigest()[:16]


def _replace_bytes(path: Path, old: bytes, new: bytes) -> bool:
    """Rewrite `path` with `old` replaced by `new`, as a NEW file put in place (a hard-linked original is never
    written through); False when it does not hold `old`."""
    data = path.read_bytes()
    if old not in data:
        return False
    write_atomic(path, data.replace(old, new), mode=path.stat().st_mode & 0o7777)
    return True


def venv_home(folder: Path) -> Path | None:
    """The folder the venv's scripts name in their shebangs (where it was made or last relocated to)."""
    for script in sorted((folder / "bin").glob("pip*")):
        if script.is_file() and not script.is_symlink():
            first = script.read_bytes().split(b"\n", 1)[0]
            if first.startswith(b"#!") and b"/bin/python" in first:
                return Path(first[2:].split(b"/bin/python", 1)[0].decode())
    return None


def relocate(folder: Path, old: Path) -> int:
    """Make a venv copied from `old` name `folder`: the shebangs and activate scripts in bin/ and pyvenv.cfg.
    Returns how many files changed. Idempotent (a relocated venv names `old` nowhere)."""
    changed = 0
    old_b, new_b = str(old).encode(), str(folder).encode()
    if old_b == new_b:
        return 0
    for path in [folder / "pyvenv.cfg", *sorted((folder / "bin").iterdir())]:
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 1024 * 1024:
            changed += _replace_bytes(path, old_b, new_b)
    return changed


def clone_tree(source: Path, target: Path) -> None:
    """A copy of `source` whose files are hard links to the originals (no data copied; links kept as links);
    what is in `target` and not in `source` later is never written into an original: every writer here and pip
    put new files in place."""
    shutil.copytree(source, target, symlinks=True, copy_function=os.link,
                    ignore=shutil.ignore_patterns(MARKER, READY, OWN_LOCK, "farnode-lock.json"))


class RuntimeVersions:
    """The versions of the node runtime at `location`, kept in `<location>.versions/`."""

    def __init__(self, location: Path, step: Step | None = None) -> None:
        self.location = location
        self.folder = location.parent / f"{location.name}.versions"
        self._step = step or (lambda name: None)

    def path(self, vid: str) -> Path:
        return self.folder / vid

    def pointer(self) -> dict[str, str | None]:
        try:
            raw = read_json_object(self.folder / POINTER, 4096)
        except (OSError, ValueError):
            return {"current": None, "previous": None}
        return {k: (v if isinstance(v, str) and v and "/" not in v else None)
                for k, v in ((k, raw.get(k)) for k in ("current", "previous"))}

    def ready(self, vid: str | None) -> bool:
        return vid is not None and (self.path(vid) / READY).is_file()

    def current_folder(self) -> Path:
        """The folder the nodes run from now (the link resolved)."""
        return self.location.resolve()

    def current_id(self) -> str | None:
        settled = self.pointer()["current"]
        if settled is not None:
            return settled
        runtime = NodeRuntime(self.location)
        return version_id(runtime.lock.read_bytes()) if runtime.lock.is_file() else None

    # ----- a switch, and what a SIGKILL in the middle of one leaves -----
    def _write_pointer(self, current: str, previous: str | None) -> None:
        write_atomic(self.folder / POINTER, json.dumps({"current": current, "previous": previous}) + "\n", mode=0o644)
        self._step("pointer written")

    def _link(self, vid: str) -> None:
        """`location` -> the version, replaced in one rename (never a moment without a runtime there)."""
        tmp = self.location.parent / f"{self.location.name}{_LINK_TMP}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(self.path(vid), tmp)
        self._step("link made")
        os.replace(tmp, self.location)
        self._step("link replaced")

    def settle(self) -> None:
        """Finish or undo what a switch killed half-way left, so `location` is a working runtime again."""
        journal = self.folder / MIGRATING
        if journal.exists():
            try:
                vid = str(read_json_object(journal, 4096)["id"])
            except (OSError, ValueError, KeyError):
                vid = ""
            moved = self.path(vid) if vid and "/" not in vid else None
            if moved is not None and not self.location.exists() and not self.location.is_symlink() and moved.is_dir():
                home = venv_home(moved)
                if home is not None:
                    relocate(moved, home)
                write_atomic(moved / READY, json.dumps({"adopted": True}) + "\n", mode=0o644)
                if self.pointer()["current"] is None:
                    self._write_pointer(vid, None)
            journal.unlink(missing_ok=True)
        current = self.pointer()["current"]
        linked = Path(os.readlink(self.location)) if self.location.is_symlink() else None
        real_dir = linked is None and self.location.exists()  # never replaced: only a link is FarNode's to move
        if current is not None and self.path(current).is_dir() and not real_dir and linked != self.path(current):
            self._link(current)
        with contextlib.suppress(FileNotFoundError):
            (self.location.parent / f"{self.location.name}{_LINK_TMP}").unlink()

    def _adopt_original(self) -> str:
        """The first switch: the original runtime folder moves in among the versions (the nodes are stopped)."""
        vid = self.current_id()
        if vid is None:
            raise FarNodeError("the current node runtime has no lock to name it by",
                               hint="run `farnode runtime install`, then try the update again")
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / MIGRATING, json.dumps({"id": vid}) + "\n", mode=0o644)
        self._step("journal written")
        home = venv_home(self.location) or self.location
        if self.path(vid).exists():
            shutil.rmtree(self.path(vid))
        os.rename(self.location, self.path(vid))
        self._step("original moved")
        relocate(self.path(vid), home)
        self._step("original relocated")
        write_atomic(self.path(vid) / READY, json.dumps({"adopted": True}) + "\n", mode=0o644)
        self._write_pointer(vid, None)
        self._link(vid)
        (self.folder / MIGRATING).unlink()
        self._step("journal removed")
        return vid

    def switch(self, vid: str) -> str | None:
        """Make the prepared version `vid` current (the nodes must be stopped); the one before it is kept for one
        rollback, older ones are removed. Returns the previous version's id."""
        self.settle()
        if not self.ready(vid):
            raise FarNodeError(f"the node runtime {vid} has not passed its checks; the current one stays")
        current = self.pointer()["current"]
        if current is None and self.location.exists() and not self.location.is_symlink():
            current = self._adopt_original()
        if current == vid:
            return self.pointer()["previous"]
        self._write_pointer(vid, current)
        self._link(vid)
        self.prune()
        return current

    def rollback(self) -> str:
        """Back to the previous version (kept by the last switch); the one left is removed."""
        self.settle()
        pointer = self.pointer()
        previous = pointer["previous"]
        if previous is None or not self.ready(previous):
            raise FarNodeError("there is no previous node runtime to go back to",
                               hint="a runtime is kept for one rollback after an update, then removed")
        self._write_pointer(previous, None)
        self._link(previous)
        self.prune()
        return previous

    def prune(self, keep: tuple[str, ...] = ()) -> list[str]:
        """Remove every version that is neither current, nor previous, nor in `keep`."""
        pointer = self.pointer()
        wanted = {pointer["current"], pointer["previous"], *keep}
        removed = []
        for child in sorted(self.folder.iterdir()) if self.folder.is_dir() else []:
            if child.is_dir() and not child.is_symlink() and child.name not in wanted:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child.name)
        return removed
