"""The node supervisor's state and the rules every part of it shares: one state with its reason, the server's
log lines read into state, faults of the machine told."""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum

from farnode_desktop.core.clock import Clock, SystemClock
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.node.draining import Drain
from farnode_desktop.core.node.group_watch import GroupWatch
from farnode_desktop.core.node.host import BackgroundJob, Job, OsProcessHost, ProcessHost, RunningProcess
from farnode_desktop.core.node.launch import NodeFolder
from farnode_desktop.core.node.log_signals import Signal, parse_line
from farnode_desktop.core.node.machine_faults import MachineFaults
from farnode_desktop.core.node.restarts import RestartBudget, SupervisorPolicy
from farnode_desktop.core.node.server_word import ServerWord
from farnode_desktop.core.node.spec import NodeBackend, NodeSpec
from farnode_desktop.core.node.status import (
    HttpStatusProbe,
    NodeState,
    StatusProbe,
)
from farnode_desktop.core.node.stopping import GroupStop
from farnode_desktop.core.node.transitions import check_transition
from farnode_desktop.core.paths import AppPaths


class Desire(Enum):
    """What the provider (or the app for it) asked of the node."""

    RUN = "run"
    STOP = "stop"
    PAUSE = "pause"


class SupervisorCore:
    """What a supervisor knows: its settings, boundaries and state (the rules live in the classes built on it)."""

    def __init__(
        self,
        spec: NodeSpec,
        paths: AppPaths,
        bus: EventBus,
        backend: NodeBackend,
        host: ProcessHost | None = None,
        clock: Clock | None = None,
        probe: StatusProbe | None = None,
        policy: SupervisorPolicy | None = None,
        runtime_ready: Callable[[], bool] = lambda: True,
        provision: Job | None = None,
    ) -> None:
        self.spec = spec
        self.paths = paths
        self.bus = bus
        self.backend = backend
        self.host = host or OsProcessHost()
        self.clock = clock or SystemClock()
        self.probe = probe or HttpStatusProbe()
        self.policy = policy or SupervisorPolicy()
        self.runtime_ready = runtime_ready
        self.provision = provision
        self.workdir = paths.node_dir(spec.name)
        self.faults = MachineFaults(self._fault_changed)
        self.folder = NodeFolder(self.workdir, self.host, self.faults, self.clock)
        self.log = self.host.open_log(paths.node_log(spec.name))
        self._lock = threading.RLock()
        self._state = NodeState.STOPPED
        self._reason = "not started"
        self._hint = ""
        self._desire = Desire.STOP
        self._proc: RunningProcess | None = None
        self._budget = RestartBudget(self.policy)
        self._cooldown: float | None = None  # a cool-down that starts when the server has stopped
        self._cooling_until: float | None = None  # FAILED, but trying again by itself at this time
        self._cooled_for = 0.0
        self._restarts = 0
        self._retry_at = 0.0
        self._stopping: GroupStop | None = None
        self._after_stop: tuple[NodeState, str, str] = (NodeState.STOPPED, "", "")
        self._provisioning: BackgroundJob | None = None
        self._install_due = False  # to start once the install a stop ended has gone (pip takes a moment to end)
        self._fatal: tuple[str, str, list[str], bool] | None = None  # message, hint, log lines, heals by itself
        self._healable: str | None = None
        self._launched_at = 0.0
        self._serving_since: float | None = None
        self._last_probe_at = 0.0
        self._last_probe_ok = 0.0
        self._word = ServerWord(self.policy)  # what the server has said about itself
        self._watch: GroupWatch | None = None
        self._last_members_at = 0.0
        self._log_started = False
        self._failure_lines: list[str] = []
        self._pause_reason = "paused by the provider"
        self._resume_reason = "resumed"
        self._retry_delay = self.policy.backoff_base_s
        self._drain: Drain | None = None
        self._launch_why: str | None = None  # why the next launch from STOPPED happens, when not the provider's start

    def _set(self, new: NodeState, reason: str, hint: str = "") -> None:
        previous, now = self._state, self.clock.monotonic()
        check_transition(self.spec.name, previous, new)
        self._state, self._reason, self._hint = new, reason, hint
        self._serving_since = (now if new is NodeState.SERVING else
                               self._serving_since if new is NodeState.DRAINING else None)
        self.log.write_line(f"[farnode] {self.spec.name}: {previous.value} -> {new.value}: {reason}")
        data = {"state": new.value, "previous": previous.value, "hint": hint, "retry_in_s": self._retry_in(now)}
        self.bus.emit(Event(topic="node.state", source=self.spec.name, reason=reason, data=data, at=self.clock.wall()))

    def _step_aside(self) -> None:
        """No server runs and the provider asked to pause or stop: be in that state."""
        if self._desire is Desire.PAUSE:
            self._set(NodeState.PAUSED, self._pause_reason)
        else:
            self._set(NodeState.STOPPED, "stopped by the provider")

    def _retry_in(self, now: float) -> float | None:
        """Seconds to the next try by itself; None when there is none (running, stopped, failed for good)."""
        if self._state is NodeState.BACKOFF:
            return round(max(0.0, self._retry_at - now), 1)
        if self._state is NodeState.FAILED and self._cooling_until is not None:
            return round(max(0.0, self._cooling_until - now), 1)
        return None

    def _drain_output(self) -> tuple[str, str, list[str], bool] | None:
        """Read the server's new log lines into state; returns the fatal error seen so far, if any."""
        if self._proc is None:
            return self._fatal
        for line in self._proc.read_lines():
            sig = parse_line(line)
            if sig is None:
                continue
            if sig.kind is Signal.PEER:
                self._word.peer_in_log(sig.values["peer_id"], sig.values["multiaddrs"])
            elif sig.kind in (Signal.LOADED_BLOCK, Signal.JOINING) and self._state is NodeState.STARTING:
                self._set(NodeState.LOADING, "loading blocks")
            elif sig.kind is Signal.STARTED and self._state is not NodeState.SERVING:
                self._log_started = True  # ask the server every tick now: its answer says serving, with blocks
            elif sig.kind is Signal.FATAL and self._fatal is None:
                heals = bool(sig.values.get("heals"))
                self._fatal = (sig.detail, str(sig.values.get("hint", "")), self.log.tail(20), heals)
            elif sig.kind is Signal.HEALABLE and self._healable is None:
                self._healable = sig.detail
        return self._fatal

    def _fault_changed(self, text: str, resolved: bool) -> None:
        """A fault of the machine (or its fix): logged and announced, never raised; the node is kept on purpose."""
        self.log.write_line(f"[farnode] {self.spec.name}: {text}")
        self.bus.emit(Event(topic="node.problem", source=self.spec.name, reason=text,
                            data={"resolved": resolved}, at=self.clock.wall()))

    def close(self) -> None:
        """Release the log file (after the node has stopped)."""
        self.log.close()
