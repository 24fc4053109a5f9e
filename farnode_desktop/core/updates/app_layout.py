"""The installed app's own folder for updates (stdlib only: the launcher reads it before anything else loads):
versions/<version>/ holds each complete release beside the installed one, state.json says which one starts, and
every change to it is one atomic write, so a SIGKILL at any point leaves a state that starts a working app."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT_ENV = "FARNODE_APP_ROOT"  # set by the launcher for the app it starts: this app was installed, not a checkout
LAUNCHED_ENV = "FARNODE_LAUNCHED"  # the version the launcher started ("installed" for the installed one)
INSTALLED_ENV = "FARNODE_INSTALLED_VERSION"  # the version the package itself holds (the launcher's own)
STATE_FILE = "state.json"
RELEASE_FILE = ".farnode-release.json"  # written into a release's folder before the rename that completes it
MAX_TRIES = 2  # starts of a new version that may end without a confirmation (one SIGKILL forgiven) before rollback
_VERSION = re.compile(r"^\d{1,6}(\.\d{1,6}){0,3}$")


class LayoutError(Exception):
    """The app folder cannot be used as asked (no such version, nothing to roll back to)."""


def parse_version(text: object) -> tuple[int, ...] | None:
    """'0.2.10' -> (0, 2, 10); None for anything that is not dotted numbers (a release must say its version so)."""
    if not isinstance(text, str) or not _VERSION.match(text):
        return None
    return tuple(int(p) for p in text.split("."))


def newer(a: str, b: str) -> bool:
    """Whether version `a` is newer than `b` (trailing zeros do not count: 0.2 == 0.2.0)."""
    pa, pb = parse_version(a), parse_version(b)
    if pa is None or pb is None:
        return False
    width = max(len(pa), len(pb))
    return pa + (0,) * (width - len(pa)) > pb + (0,) * (width - len(pb))


def default_root(env: dict[str, str] | None = None) -> Path:
    """<data>/app, computed as core/paths.py's AppPaths.default() does, without platformdirs (stdlib only)."""
    env = dict(os.environ) if env is None else env
    if env.get(ROOT_ENV):
        return Path(env[ROOT_ENV])
    if env.get("FARNODE_HOME"):
        return Path(env["FARNODE_HOME"]) / "data" / "app"
    if sys.platform == "win32":
        base = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "FarLabs" / "FarNode" / "app"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "FarNode" / "app"
    xdg = env.get("XDG_DATA_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "FarNode" / "app"


def installed_root(running: str, env: dict[str, str] | None = None) -> AppRoot | None:
    """The app folder when this process was started by the launcher (an installed app), else None: a source
    checkout updates through git and pip, never through the update channel."""
    env = dict(os.environ) if env is None else env
    if not env.get(ROOT_ENV):
        return None
    installed = env.get(INSTALLED_ENV, "")
    return AppRoot(Path(env[ROOT_ENV]), installed if parse_version(installed) is not None else running)


@dataclass(frozen=True)
class AppState:
    """Which version starts. `current` None: the installed one (the package's own files); `previous` is kept for
    one rollback (None: the installed one); `trial` is a new version not yet confirmed by its self-test."""

    current: str | None = None
    previous: str | None = None
    trial: dict[str, Any] | None = None  # {"version": v, "attempts": n}
    staged: str | None = None  # complete in versions/, applied at the next start or "Restart to update"
    refused: list[str] = field(default_factory=list)  # failed their self-test or rolled back from: never re-applied
    note: str | None = None  # the last thing the provider should hear (a rollback and why)

    @staticmethod
    def parse(raw: object) -> AppState:
        if not isinstance(raw, dict):
            return AppState()

        def version(key: str) -> str | None:
            value = raw.get(key)
            return value if parse_version(value) is not None else None

        trial = raw.get("trial")
        if not (isinstance(trial, dict) and parse_version(trial.get("version")) is not None
                and isinstance(trial.get("attempts"), int)):
            trial = None
        refused = [v for v in raw.get("refused") or [] if parse_version(v) is not None]
        note = raw.get("note") if isinstance(raw.get("note"), str) else None
        return AppState(version("current"), version("previous"), trial, version("staged"), refused, note)


class AppRoot:
    """The app folder (`<data>/app` by default) and the one way each change to it is made."""

    def __init__(self, folder: Path, installed_version: str) -> None:
        self.folder = folder
        self.installed_version = installed_version  # the version the package itself holds

    @property
    def versions(self) -> Path:
        return self.folder / "versions"

    @property
    def downloads(self) -> Path:
        return self.folder / "downloads"

    def version_dir(self, version: str) -> Path:
        if parse_version(version) is None:
            raise LayoutError(f"{version!r} is not a release version")
        return self.versions / version

    def confirmation(self, version: str) -> Path:
        return self.folder / "confirm" / f"{version}.json"

    # ----- state -----
    def read(self) -> AppState:
        try:
            return AppState.parse(json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return AppState()  # none yet, or unreadable: the installed version starts, which always works

    def write(self, state: AppState) -> AppState:
        """Atomic: temp file, fsync, replace; a reader sees the old state or the new one."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(asdict(state), indent=2) + "\n").encode()
        fd, tmp = tempfile.mkstemp(prefix=f".{STATE_FILE}.", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / STATE_FILE)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return state

    # ----- releases on disk -----
    def release_info(self, version: str) -> dict[str, Any] | None:
        """The release file of a complete version folder, or None (absent, half-unpacked or damaged)."""
        try:
            folder = self.version_dir(version)
            raw = json.loads((folder / RELEASE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError, LayoutError):
            return None
        if not isinstance(raw, dict) or raw.get("version") != version or not isinstance(raw.get("entry"), str):
            return None
        entry = folder / raw["entry"]
        return raw if entry.is_file() and entry.resolve().is_relative_to(folder.resolve()) else None

    def entry(self, version: str) -> Path | None:
        info = self.release_info(version)
        return self.version_dir(version) / info["entry"] if info else None

    def startable(self, version: str | None) -> bool:
        """None (the installed version) always is; a kept version when it is complete and newer than the installed
        one (a newer package installed over an old update wins)."""
        return version is None or (self.release_info(version) is not None
                                   and newer(version, self.installed_version))

    def kept(self) -> list[str]:
        return sorted((p.name for p in self.versions.glob("*") if parse_version(p.name) is not None),
                      key=lambda v: parse_version(v) or ())

    # ----- changes -----
    def stage(self, version: str) -> AppState:
        """A complete version folder becomes the one the next start applies."""
        if self.release_info(version) is None:
            raise LayoutError(f"FarNode {version} is not completely unpacked")
        return self.write(replace(self.read(), staged=version))

    def apply_staged(self) -> AppState:
        """The staged version becomes current, on trial until its self-test confirms it; the running one is kept."""
        state = self.read()
        if state.staged is None or not self.startable(state.staged) or state.staged == state.current:
            return self.write(replace(state, staged=None)) if state.staged is not None else state
        running = state.current if self.startable(state.current) else None
        return self.write(replace(state, current=state.staged, previous=running, staged=None,
                                  trial={"version": state.staged, "attempts": 0}, note=None))

    def confirm(self, version: str) -> AppState:
        """The new version passed its self-test: it stays, and what is neither it nor the previous one goes."""
        state = self.read()
        if state.trial is None or state.trial.get("version") != version:
            return state
        state = self.write(replace(state, trial=None))
        self.clean(keep={v for v in (state.current, state.previous, state.staged) if v})
        return state

    def roll_back(self, why: str) -> AppState:
        """Back to the previous version (the installed one when there is none); the version left is refused."""
        state = self.read()
        if state.current is None:
            raise LayoutError(f"FarNode {self.installed_version} is the installed version: there is nothing older "
                              f"to go back to")
        left = state.current
        back = state.previous if self.startable(state.previous) else None
        refused = sorted({*state.refused, left}, key=lambda v: parse_version(v) or ())
        return self.write(AppState(current=back, previous=None, trial=None, staged=None, refused=refused,
                                   note=f"FarNode went back from {left} to {back or self.installed_version}: {why}"))

    def clean(self, keep: set[str]) -> None:
        """Remove unpacked versions and leftovers of interrupted ones (`.partial`) that no state names."""
        if not self.versions.is_dir():
            return
        for path in self.versions.iterdir():
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
