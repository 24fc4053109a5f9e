"""The node runtime updates itself: a runtime lock the update channel publishes (verified by TUF) is prepared beside
the current runtime on a worker thread while the nodes serve on; once it has passed its checks, every node drains
(its inference sessions finish, bounded by a deadline), the pointer switches, and each node starts once on it."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from tuf.api import exceptions

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.node.draining import DRAIN_DEADLINE_S
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.runtime_versions import RuntimeVersions
from farnode_desktop.core.node.status import RUNNING_STATES, NodeState
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.channel import load_channel
from farnode_desktop.core.updates.client import CheckResult, UpdateClient
from farnode_desktop.core.updates.runtime_prepare import Prepared, Trial, node_trial, prepare
from farnode_desktop.core.updates.words import packages, plain_reason

RUNTIME_LOCK = "runtime/lock.txt"
RUNTIME_INFO = "runtime/runtime.json"
MAX_LOCK_BYTES = 1024 * 1024
MAX_INFO_BYTES = 256 * 1024
SWITCH_REASON = "switching to the new node runtime"
SWITCHED_REASON = "restarted onto the updated node runtime"  # the node's log says why it started, not "the provider"


class Node(Protocol):
    """What the switch needs of a node's supervisor."""

    @property
    def state(self) -> NodeState: ...

    def drain(self, reason: str, deadline_s: float, relaunch: bool) -> None: ...

    def start(self, reason: str = "") -> None: ...


class RuntimeTargets(UpdateClient):
    """Downloads the runtime lock and its metadata the update channel publishes, verified by TUF against the
    trusted metadata the last check refreshed."""

    def fetch(self) -> tuple[bytes, bytes | None] | None:
        """(lock, metadata) as signed, or None when the channel publishes no runtime; FarNodeError says why not."""
        channel = load_channel(self.paths, self._shipped)
        if channel.url is None:
            return None
        try:
            (self.folder / "downloads").mkdir(parents=True, exist_ok=True)
            updater = self._updater(channel.metadata_url, channel.targets_url, channel.trusted_root)
            updater.refresh()
            got: dict[str, bytes] = {}
            for name, cap in ((RUNTIME_LOCK, MAX_LOCK_BYTES), (RUNTIME_INFO, MAX_INFO_BYTES)):
                info = updater.get_targetinfo(name)
                if info is None:
                    continue
                if info.length > cap:
                    raise FarNodeError(f"the signed {name} would be {info.length:,} bytes, more than FarNode accepts")
                path = Path(updater.download_target(info, str(self.folder / "downloads" / name.replace("/", "-"))))
                got[name] = path.read_bytes()
                path.unlink()
        except (exceptions.RepositoryError, exceptions.DownloadError, OSError, ValueError) as exc:
            raise FarNodeError(plain_reason(exc)) from None
        if RUNTIME_LOCK not in got:
            return None
        return got[RUNTIME_LOCK], got.get(RUNTIME_INFO)


def runtime_offered(result: CheckResult | None, runtime: NodeRuntime) -> str | None:
    """The sha256 of a runtime lock the last check saw published and this runtime does not run, else None."""
    if result is None or not result.ok:
        return None
    offered = result.available.get(RUNTIME_LOCK)
    if not offered or not runtime.lock.is_file():
        return None
    return None if hashlib.sha256(runtime.lock.read_bytes()).hexdigest() == offered else offered


class RuntimeSwitch:
    """Drives one switch from the app's tick: drain every running node, switch once all have stopped, start the
    ones that ran. `tick()` never blocks on a node."""

    def __init__(self, versions: RuntimeVersions, vid: str, nodes: Sequence[Node],
                 deadline_s: float = DRAIN_DEADLINE_S) -> None:
        self.versions, self.vid = versions, vid
        self.nodes = [n for n in nodes if n.state in RUNNING_STATES]
        for node in self.nodes:
            node.drain(SWITCH_REASON, deadline_s, relaunch=False)
        self.done = False
        self.previous: str | None = None

    def tick(self) -> bool:
        """True once the switch is made and the nodes that ran are started on the new runtime."""
        if self.done:
            return True
        if any(n.state in RUNNING_STATES or n.state is NodeState.STOPPING for n in self.nodes):
            return False
        self.previous = self.versions.switch(self.vid)
        for node in self.nodes:
            if node.state is NodeState.STOPPED:  # drained; a node the provider paused meanwhile stays paused
                node.start(SWITCHED_REASON)
        self.done = True
        return True


class RuntimeUpdater:
    """The app's side: after an update check offers a new runtime lock, prepare it on a worker thread, then switch
    from `tick` (on the app's tick thread); every outcome is told on the bus (`update.runtime`, `update.problem`)."""

    def __init__(self, paths: AppPaths, runtime: NodeRuntime, nodes: Callable[[], Sequence[Node]], bus: EventBus,
                 trial: Trial | None = None, fetch: Callable[[], tuple[bytes, bytes | None] | None] | None = None,
                 deadline_s: float = DRAIN_DEADLINE_S) -> None:
        self.paths, self.runtime, self._nodes, self.bus = paths, runtime, nodes, bus
        self.versions = RuntimeVersions(runtime.location)
        with contextlib.suppress(OSError):  # a switch a SIGKILL cut short is finished or undone before any launch
            self.versions.settle()
        self._trial = trial if trial is not None else node_trial(paths)
        self._fetch = fetch or RuntimeTargets(paths).fetch
        self.deadline_s = deadline_s
        self._tried: set[str] = set()  # locks tried this session (a failed one is not retried until the next start)
        self._thread: threading.Thread | None = None
        self._ready: Prepared | None = None
        self.switch: RuntimeSwitch | None = None
        self.cancel = threading.Event()

    def tick(self, last_check: CheckResult | None) -> None:
        offered = runtime_offered(last_check, self.runtime)
        busy = self._thread is not None and self._thread.is_alive()
        if offered and offered not in self._tried and not busy and self.switch is None:
            self._tried.add(offered)
            self._thread = threading.Thread(target=self._prepare, name="runtime-update", daemon=True)
            self._thread.start()
        if self._ready is not None and self.switch is None:
            self.switch = RuntimeSwitch(self.versions, self._ready.vid, self._nodes(), self.deadline_s)
            self._say("update.runtime", f"the new node runtime passed its checks; {SWITCH_REASON}",
                      {"stage": "switching"})
        if self.switch is not None and self.switch.tick():
            ready, previous, self.switch, self._ready = self._ready, self.switch.previous, None, None
            assert ready is not None
            kept = "; the previous one is kept for one rollback" if previous is not None else ""
            self._say("update.runtime", f"the nodes run on the new node runtime ({packages(len(ready.changed))} "
                                        f"changed){kept}", {"stage": "done", "changed": ready.changed})

    def _prepare(self) -> None:
        try:
            fetched = self._fetch()
            if fetched is None:
                return
            self._say("update.runtime", "a new node runtime is available: preparing it beside the current one while "
                                        "the nodes serve on", {"stage": "preparing"})
            self._ready = prepare(self.versions, fetched[0], fetched[1], self._trial, cancel=self.cancel,
                                  progress=self._preparing)
        except FarNodeError as exc:
            self._say("update.problem", f"the node runtime update was not applied: {exc}", {"runtime": True})
        except Exception as exc:  # a bug must not end the worker quietly
            self._say("update.problem", f"the node runtime update failed: {exc}", {"runtime": True})

    def _preparing(self, message: str, done: int, total: int) -> None:
        """prepare's steps and pip's packages as it gets them (the ones already there are not told one by one)."""
        if not message.startswith("already there"):
            self._say("update.runtime", f"preparing the new node runtime: {message}", {"stage": "preparing"})

    def _say(self, topic: str, text: str, data: dict[str, object] | None = None) -> None:
        self.bus.emit(Event(topic, "updates", text, data or {}))

    def join(self, timeout_s: float) -> None:
        self.cancel.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
