"""The app's own update, end to end: after a verified check, stage this PC's newest signed FarNode on the update
thread (its progress on the bus, the nodes serving on), apply it (its self-test decides, or FarNode goes back by
itself), and roll back when the provider asks. A source checkout says it updates through git and pip."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from tuf.api import exceptions
from tuf.api.metadata import Metadata, Targets
from tuf.ngclient.fetcher import FetcherInterface

from farnode_desktop import __version__
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.app_layout import AppRoot, AppState, LayoutError, installed_root, newer
from farnode_desktop.core.updates.app_release import (
    MAX_APP_BYTES,
    AppRelease,
    ReleaseRefused,
    app_releases,
    newest,
    stage_release,
    this_platform,
    write_chunk,
)
from farnode_desktop.core.updates.app_start import self_test
from farnode_desktop.core.updates.channel import load_channel, updates_dir
from farnode_desktop.core.updates.client import CheckResult, UpdateClient
from farnode_desktop.core.updates.fetcher import BoundedFetcher
from farnode_desktop.core.updates.words import plain_reason

MIN_RATE_BPS = 64 * 1024  # a download slower than this on average is cut off (plus a minute's grace)
SOURCE_WORDS = ("this FarNode runs from a source checkout ({where}): it updates through git and pip (git pull, then "
                "pip install -e .), not through the update channel, which updates installed FarNode apps only")


class SourceCheckout(FarNodeError):
    """Not an installed app: nothing to apply or roll back."""

    exit_code = 2


@dataclass(frozen=True)
class AppOutcome:
    """What `apply` or `rollback` did, in words; `ok` False: the running version is what starts, as before."""

    ok: bool
    message: str
    version: str | None = None  # the version that starts next


class AppUpdates:
    """The installed app's updates. `root` None (the default outside the launcher): a source checkout."""

    def __init__(self, paths: AppPaths, *, bus: EventBus | None = None, root: AppRoot | None = None,
                 client: UpdateClient | None = None, fetcher: FetcherInterface | None = None,
                 write: Callable[[IO[bytes], bytes], None] = write_chunk, running: str = __version__,
                 min_rate_bps: float = MIN_RATE_BPS, max_bytes: int = MAX_APP_BYTES,
                 platform_name: str | None = None) -> None:
        self.paths = paths
        self.bus = bus
        self.root = root if root is not None else installed_root(running)
        self.client = client or UpdateClient(paths)
        self._fetcher = fetcher
        self._write = write
        self.running = running
        self.min_rate_bps = min_rate_bps
        self.max_bytes = max_bytes
        self.platform = platform_name or this_platform()
        self._last_progress = (-1, 0.0)

    # ----- the background check (UpdateWatch runs this on its own thread) -----
    def check(self) -> CheckResult:
        """The signed channel's check; then, for an installed app, stage a newer FarNode if one is signed."""
        result = self.client.check()
        if result.ok and self.root is not None:
            try:
                self.stage_newest()
            except (FarNodeError, exceptions.DownloadError, OSError) as exc:
                self._emit("update.problem", plain_reason(exc) if not isinstance(exc, FarNodeError) else str(exc),
                           {"refused": isinstance(exc, ReleaseRefused)})
        return result

    def _targets(self) -> Targets:
        """The targets metadata the last check verified (TUF's trusted copy)."""
        return Metadata[Targets].from_file(str(updates_dir(self.paths) / "metadata" / "targets.json")).signed

    def _need_root(self) -> AppRoot:
        if self.root is None:
            raise SourceCheckout(SOURCE_WORDS.format(where=Path(__file__).resolve().parents[3]))
        return self.root

    def offered(self) -> AppRelease | None:
        """This platform's newest signed FarNode newer than the running one and not refused before."""
        root = self._need_root()
        refused = root.read().refused
        return newest(app_releases(self._targets()), self.running, refused, self.platform)

    def stage_newest(self) -> AppRelease | None:
        """Download, verify and unpack the offered release beside the running one (None: nothing newer)."""
        root = self._need_root()
        release = self.offered()
        if release is None:
            return None
        state = root.read()
        if state.staged == release.version or (state.current == release.version and state.trial is None):
            return release
        channel = load_channel(self.paths)
        fetcher = self._fetcher or BoundedFetcher(total_s=60.0 + release.length / self.min_rate_bps)
        if release.length > self.max_bytes:
            raise ReleaseRefused(f"FarNode {release.version} would be {release.length:,} bytes, more than FarNode "
                                 f"accepts ({self.max_bytes:,}); the running FarNode is untouched")
        self._last_progress = (-1, 0.0)
        self._emit("update.available", f"FarNode {release.version} is available: downloading it while the nodes "
                                       f"serve on", {"version": release.version, "bytes": release.length})
        stage_release(root, release, lambda: fetcher.fetch(release.url(channel.targets_url)),
                      progress=lambda done, total: self._progress(release.version, done, total), write=self._write)
        self._emit("update.staged", f"FarNode {release.version} is ready: restart FarNode to update",
                   {"version": release.version})
        return release

    def _progress(self, version: str, done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 100
        now = time.monotonic()
        if percent != self._last_progress[0] and (now - self._last_progress[1] >= 0.25 or percent == 100):
            self._last_progress = (percent, now)
            self._emit("update.progress", f"downloading FarNode {version}: {percent}%",
                       {"version": version, "done": done, "total": total, "percent": percent})

    def _emit(self, topic: str, reason: str, data: dict[str, object]) -> None:
        if self.bus is not None:
            self.bus.emit(Event(topic, "updates", reason, data))

    # ----- the headless commands -----
    def apply(self) -> AppOutcome:
        """Check, stage the newest release, make it current and run its self-test now: it stays when it passes,
        else FarNode goes back to the version it had. The running process itself carries on as it is."""
        root = self._need_root()
        result = self.client.check()
        if not result.ok:
            return AppOutcome(False, f"the update check failed: {result.message}")
        try:
            release = self.stage_newest()
        except (FarNodeError, exceptions.DownloadError, OSError) as exc:
            return AppOutcome(False, str(exc) if isinstance(exc, FarNodeError) else plain_reason(exc))
        if release is None:
            older = [r.version for r in app_releases(self._targets())
                     if r.platform == self.platform and not newer(r.version, self.running)
                     and r.version != self.running]
            if older:
                return AppOutcome(False, f"the update channel offers FarNode {max(older, key=_key)}, which is not newer "
                                         f"than the running {self.running}: refused; the running FarNode is untouched")
            return AppOutcome(True, f"FarNode {self.running} is the newest release for {self.platform}", self.running)
        state = root.apply_staged()
        if state.current != release.version:
            return AppOutcome(False, f"FarNode {release.version} could not be applied; the running FarNode is "
                                     f"untouched")
        root.write(replace(state, trial={"version": release.version, "attempts": 1}))
        problem = self_test(root, release.version)
        if problem is not None:
            back = root.roll_back(problem)
            return AppOutcome(False, f"{problem}; FarNode stays on {back.current or root.installed_version}",
                              back.current or root.installed_version)
        root.confirm(release.version)
        return AppOutcome(True, f"FarNode {release.version} is installed and passed its self-test; it runs from the "
                                f"next start (restart FarNode to use it now)", release.version)

    def roll_back(self) -> AppOutcome:
        """Back to the previous version, at the next start; the version left is not offered again."""
        root = self._need_root()
        try:
            state = root.roll_back("the provider asked to roll back")
        except LayoutError as exc:
            return AppOutcome(False, str(exc))
        version = state.current or root.installed_version
        return AppOutcome(True, f"{state.note}; restart FarNode to run it", version)

    def state(self) -> AppState | None:
        return self.root.read() if self.root is not None else None


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))
