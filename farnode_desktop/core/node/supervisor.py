"""The node supervisor: a state machine, ticked by `transition(now)`, that keeps one Petals server serving."""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum

from farnode_desktop.core.clock import Clock, SystemClock
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.node import health as node_health
from farnode_desktop.core.node.draining import DRAINED, Drain
from farnode_desktop.core.node.facts import blocks_text
from farnode_desktop.core.node.group_watch import GroupWatch
from farnode_desktop.core.node.host import BackgroundJob, Job, OsProcessHost, ProcessHost, RunningProcess
from farnode_desktop.core.node.launch import NodeFolder
from farnode_desktop.core.node.log_signals import Signal, parse_line
from farnode_desktop.core.node.machine_faults import MachineFaults
from farnode_desktop.core.node.process_group import PID_FILE
from farnode_desktop.core.node.restarts import RestartBudget, SupervisorPolicy, duration_text
from farnode_desktop.core.node.server_word import ServerWord
from farnode_desktop.core.node.spec import NodeBackend, NodeSpec
from farnode_desktop.core.node.status import (
    RUNNING_STATES,
    HttpStatusProbe,
    NodeState,
    NodeStatus,
    StatusProbe,
)
from farnode_desktop.core.node.stopping import GroupStop
from farnode_desktop.core.node.transitions import check_transition
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.mesh.wire import NodeReport, ServerState

__all__ = ["PID_FILE", "NodeSpec", "NodeState", "NodeStatus", "NodeSupervisor", "SupervisorPolicy"]


class _Desire(Enum):
    RUN = "run"
    STOP = "stop"
    PAUSE = "pause"


class NodeSupervisor:
    """Launches, watches, restarts and stops one node server; every change of state is an event with a reason."""

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
        self._desire = _Desire.STOP
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

    # ----- the provider's controls (any thread) -----
    def start(self) -> None:
        with self._lock:
            self._desire = _Desire.RUN
            if self._state is NodeState.FAILED:
                self._budget.reset()
                self._cooling_until = None
        self.transition(self.clock.monotonic())

    def stop(self) -> None:
        with self._lock:
            self._drain = None
            self._desire = _Desire.STOP
        self.transition(self.clock.monotonic())

    def drain(self, reason: str, deadline_s: float, relaunch: bool) -> None:
        """Let the running inference sessions finish (at most `deadline_s`), then stop gracefully; `relaunch` starts
        the node again at once (a new plan), else it stays stopped until started (a runtime switch)."""
        with self._lock:
            if self._state in RUNNING_STATES and self._desire is _Desire.RUN:
                self._drain = Drain(reason, self.clock.monotonic() + deadline_s, relaunch)
            elif not relaunch:
                self._desire = _Desire.STOP
        self.transition(self.clock.monotonic())

    def pause(self, reason: str) -> None:
        with self._lock:
            self._drain = None
            self._desire = _Desire.PAUSE
            self._pause_reason = reason
        self.transition(self.clock.monotonic())

    def resume(self, reason: str) -> None:
        with self._lock:
            self._desire = _Desire.RUN
            self._resume_reason = reason
        self.transition(self.clock.monotonic())

    @property
    def state(self) -> NodeState:
        return self._state

    @property
    def server_pid(self) -> int | None:
        """The running server's pid, read without the lock (a tick may hold it through a slow poll of an exited
        server)."""
        proc = self._proc
        return proc.pid if proc is not None else None

    def wait_until(self, done: Callable[[NodeState], bool], timeout_s: float, tick_s: float = 0.2) -> NodeState:
        """Tick until `done(state)` or the timeout (for the CLI and tests; the app ticks from a timer)."""
        deadline = self.clock.monotonic() + timeout_s
        while True:
            self.transition(self.clock.monotonic())
            if done(self._state) or self.clock.monotonic() >= deadline:
                return self._state
            self.clock.sleep(tick_s)

    # ----- the state machine -----
    def transition(self, now: float) -> None:
        """One tick. The status probe and a draining node's "take no new session" are network calls: they run
        outside the lock, their answers are applied under it."""
        with self._lock:
            proc = self._proc if self._tick(now) else None
            drain = self._drain if self._drain is not None and self._drain.due_to_tell() and self._proc else None
        if drain is not None:
            told = self.probe.refuse_sessions(self.folder.endpoint_file)
            with self._lock:
                drain.told(told, self.clock.monotonic())
        if proc is None:
            return
        asked_at = self.clock.monotonic()
        answer = self.probe.fetch(self.folder.endpoint_file)
        with self._lock:
            if self._proc is proc and self._state in RUNNING_STATES:  # else a stop came first: the answer is stale
                self._apply_probe(now, answer, asked_at)
                self._after_probe(now)

    def _tick(self, now: float) -> bool:
        """Every rule but the status probe; True when the server is due to be asked for its status."""
        self._drain_output()
        state = self._state
        if state is NodeState.FAILED and self._cooling_until is not None:
            self._tick_cooling(now)
        elif state is NodeState.STOPPED or state is NodeState.FAILED:
            if self._desire is _Desire.RUN and (state is NodeState.STOPPED or not self._budget.failures):
                why, self._launch_why = self._launch_why, None
                self._launch_or_provision(now, why or "started by the provider")
            elif self._desire is _Desire.PAUSE and state is NodeState.STOPPED:
                self._set(NodeState.PAUSED, self._pause_reason)
        elif state is NodeState.PROVISIONING:
            self._tick_provisioning(now)
        elif state in RUNNING_STATES:
            return self._tick_running(now)
        elif state is NodeState.BACKOFF:
            if self._desire is not _Desire.RUN:
                self._step_aside()
            elif now >= self._retry_at:
                self._launch(now, f"restarting (attempt {self._budget.consecutive + 1})")
        elif state is NodeState.STOPPING:
            self._tick_stopping(now)
        elif state is NodeState.PAUSED:
            if self._desire is _Desire.RUN:
                self._launch_or_provision(now, self._resume_reason)
            elif self._desire is _Desire.STOP:
                self._set(NodeState.STOPPED, "stopped by the provider")
        return False

    def _tick_cooling(self, now: float) -> None:
        """FAILED by a cause that can heal: wait out the cool-down, then try again by itself."""
        assert self._cooling_until is not None
        if self._desire is _Desire.STOP:
            self._cooling_until = None
            self._set(NodeState.STOPPED, "stopped by the provider")
        elif now >= self._cooling_until:
            waited = duration_text(self._cooled_for)
            self._cooling_until = None
            if self._desire is _Desire.PAUSE:
                self._set(NodeState.PAUSED, self._pause_reason)
            else:
                self._launch_or_provision(now, f"trying again by itself after a {waited} cool-down")

    def _step_aside(self) -> None:
        """No server runs and the provider asked to pause or stop: be in that state."""
        if self._desire is _Desire.PAUSE:
            self._set(NodeState.PAUSED, self._pause_reason)
        else:
            self._set(NodeState.STOPPED, "stopped by the provider")

    def _set(self, new: NodeState, reason: str, hint: str = "") -> None:
        previous, now = self._state, self.clock.monotonic()
        check_transition(self.spec.name, previous, new)
        self._state, self._reason, self._hint = new, reason, hint
        self._serving_since = (now if new is NodeState.SERVING else
                               self._serving_since if new is NodeState.DRAINING else None)
        self.log.write_line(f"[farnode] {self.spec.name}: {previous.value} -> {new.value}: {reason}")
        data = {"state": new.value, "previous": previous.value, "hint": hint, "retry_in_s": self._retry_in(now)}
        self.bus.emit(Event(topic="node.state", source=self.spec.name, reason=reason, data=data, at=self.clock.wall()))

    def _launch_or_provision(self, now: float, reason: str) -> None:
        if self.runtime_ready():
            self._launch(now, reason)
            return
        if self.provision is None:
            self._desire = _Desire.STOP
            self._set(NodeState.FAILED, "the node runtime is not installed",
                      "run `farnode runtime install` (or open FarNode's first-run setup)")
            return
        self._begin_install()
        self._set(NodeState.PROVISIONING, "installing the node runtime")

    def _begin_install(self) -> None:
        assert self.provision is not None
        self._install_due = self._provisioning is not None and self._provisioning.running()  # a stopped one ending
        if not self._install_due:
            self._provisioning = self.host.run_in_background(self.provision, "farnode-provision")

    def _tick_provisioning(self, now: float) -> None:
        job = self._provisioning
        assert job is not None
        if self._desire is not _Desire.RUN:  # at once: pip ends in the background, the next start resumes it
            job.cancel()
            self._install_due = False
            self._step_aside()
            return
        if self._install_due:
            self._begin_install()
            return
        if job.running():
            return
        error = job.error()
        if error is not None:
            self._desire = _Desire.STOP
            self._set(NodeState.FAILED, f"the node runtime could not be installed: {error}",
                      error.hint if isinstance(error, FarNodeError) else "")
        else:
            self._launch(now, "node runtime installed")

    def _launch(self, now: float, reason: str) -> None:
        command = self.folder.prepare(self.spec, self.backend)
        self._fatal = None
        self._healable = None
        self._watch = None
        self._log_started = False
        self._word.new_server()
        self._failure_lines = []
        try:
            self._proc = self.host.launch(command, self.log.write_line)
        except OSError as exc:
            self._desire = _Desire.STOP
            self._set(NodeState.FAILED, f"the node server could not be launched: {exc}",
                      "check the node runtime with `farnode runtime check`")
            return
        self._watch = GroupWatch(self._proc.pid, self.policy.frozen_after_s)
        self.folder.launched(self._proc)
        self._launched_at = self._last_probe_at = self._last_probe_ok = self.clock.monotonic()
        self._set(NodeState.STARTING, reason)

    def _tick_running(self, now: float) -> bool:
        """The rules for a running server up to its status probe; True when the probe is due (transition asks it)."""
        proc = self._proc
        assert proc is not None
        if self._desire is _Desire.STOP:
            self._begin_stop(now, graceful=True, then=(NodeState.STOPPED, "stopped by the provider", ""))
            return False
        if self._desire is _Desire.PAUSE:
            self._begin_stop(now, graceful=True, then=(NodeState.PAUSED, self._pause_reason, ""))
            return False
        if self._fatal is not None:
            self._fail_fatal(now, self._fatal)
            return False
        code = proc.poll()
        if code is not None:
            fatal = self._drain_output()
            if fatal is not None:
                self._fail_fatal(now, fatal)
            else:
                why = self._healable or f"the server exited unexpectedly (exit code {code})"
                self._failure_lines = self.log.tail(20)
                self._fail_and_restart(now, why)
            return False
        if self._healable is not None:
            self._fail_and_restart(now, self._healable)
            return False
        if self._drain is not None and self._tick_drain(now):
            return False
        if now - self._last_members_at >= self.policy.members_interval_s:
            broken = self._check_members(now)
            if broken is not None:
                self._failure_lines = self.log.tail(20)
                self._fail_and_restart(now, broken)
                return False
        interval = self.policy.watchdog_interval_s if self._state is NodeState.SERVING else self.policy.probe_interval_s
        interval = 0.0 if self._log_started and self._state is not NodeState.SERVING else interval
        if now - self._last_probe_at >= interval:
            self._last_probe_at = now
            return True
        self._after_probe(now)
        return False

    def _tick_drain(self, now: float) -> bool:
        """A drain asked for: serving -> draining; once its sessions finish (or its deadline passes), or at once when
        it serves none yet, a graceful stop. True when the stop began."""
        drain = self._drain
        assert drain is not None
        if self._state is NodeState.SERVING and not drain.began:
            drain.began, drain.quiet = True, False  # only an answer from now on says the sessions have finished
            self._set(NodeState.DRAINING, f"draining: {drain.reason}; its open inference sessions finish first")
            return False
        why = drain.done(now) if self._state is NodeState.DRAINING else "it served no sessions yet"
        if why is None:
            return False
        self._drain = None
        if drain.relaunch:
            self._launch_why = f"relaunched: {drain.reason}"
        else:
            self._desire = _Desire.STOP
        self._begin_stop(now, graceful=True, then=(NodeState.STOPPED, f"{DRAINED} ({why}): {drain.reason}", ""))
        return True

    def _after_probe(self, now: float) -> None:
        """The deadlines a running server is held to, checked after each probe (or in its place)."""
        serving = self._state in (NodeState.SERVING, NodeState.DRAINING)
        if not serving and now - self._launched_at > self.policy.startup_timeout_s:
            self._fail_and_restart(now, f"the server did not start serving within {self.policy.startup_timeout_s:.0f} s")
            return
        if serving:
            if now - self._last_probe_ok > self.policy.watchdog_timeout_s:
                silent = now - self._last_probe_ok
                self._fail_and_restart(now, f"the server's status endpoint stopped answering ({silent:.0f} s)")
                return
            if self._serving_since is not None and now - self._serving_since > self.policy.stable_after_s:
                self._budget.stable()

    def _check_members(self, now: float) -> str | None:
        """One look at the group in the process table: what died or froze, if anything (and learn new members)."""
        self._last_members_at = now
        if self._watch is None or self._proc is None:
            return None
        loading = self._state is not NodeState.STARTING
        return self._watch.check(self.host.group_members(self._proc.pgid), self.clock.monotonic(), loading)

    def _apply_probe(self, now: float, answer: NodeReport | None, asked_at: float) -> None:
        if answer is None:
            return
        self._last_probe_ok = now
        remote_state = answer.state
        verdict = self._word.answered(now, answer)
        if self._drain is not None and self._state is NodeState.DRAINING:
            self._drain.heard(answer, asked_at)
        if verdict.broken is not None:  # up, answering, and failing the requests it is there for: like a crash
            self._healable = self._healable or verdict.broken
            return
        # Serving is announced from the same answer that names the blocks, never before the blocks are known, and
        # only once a test request through them has passed.
        if remote_state is ServerState.SERVING and self._state in (NodeState.STARTING, NodeState.LOADING) and answer.blocks:
            if not verdict.passed:
                if self._reason != node_health.WAITING:
                    self._set(NodeState.LOADING, node_health.WAITING)
                return
            self._set(NodeState.SERVING, f"serving blocks {blocks_text(self.spec, answer)}")
            # the handlers exist now: learn them at once, so one that dies before the next look is still missed
            self._healable = self._healable or self._check_members(now)
        elif remote_state is ServerState.LOADING and self._state is NodeState.STARTING:
            self._set(NodeState.LOADING, "loading blocks")

    def _fail_fatal(self, now: float, fatal: tuple[str, str, list[str], bool]) -> None:
        message, hint, lines, heals = fatal
        self._failure_lines = lines
        if heals:  # the cause can go away by itself: fail now, but try again after a cool-down
            self._cooldown = self._budget.cool_down()
            hint = f"{hint} FarNode tries again by itself in {duration_text(self._cooldown)}."
        self._begin_stop(now, graceful=False, then=(NodeState.FAILED, message, hint))

    def _fail_and_restart(self, now: float, why: str) -> None:
        self._restarts += 1
        failures = len(self._budget.failures) + 1
        delay, crash_loop = self._budget.failure(now)
        if crash_loop:
            minutes = self.policy.crash_window_s / 60
            message = (f"the server failed {failures} times in {minutes:.0f} minutes "
                       f"(last: {why}); FarNode tries again by itself in {duration_text(delay)}")
            self._cooldown = delay
            self._begin_stop(now, graceful=False, then=(
                NodeState.FAILED, message, "look at the log lines below, or press Start to try again now"))
            return
        self._begin_stop(now, graceful=False, then=(NodeState.BACKOFF, f"{why}; restarting in {delay:g} s", ""))
        self._retry_delay = delay

    def _begin_stop(self, now: float, graceful: bool, then: tuple[NodeState, str, str]) -> None:
        proc = self._proc
        self._after_stop = then
        if proc is None:
            self._finish_stop(now)
            return
        self._stopping = GroupStop.begin(self.host, proc, self.policy, now, graceful, self.folder.marker)
        self._set(NodeState.STOPPING, f"stopping: {then[1]}" if then[1] else "stopping")

    def _tick_stopping(self, now: float) -> None:
        left = self._stopping.step(now) if self._stopping is not None else []
        if left is not None and not left:
            self._finish_stop(now)
        elif left:
            survivors = ", ".join(f"{m.name} ({m.pid})" for m in left)
            self._proc, self._stopping = None, None
            self._desire = _Desire.STOP
            self._set(NodeState.FAILED, f"some server processes would not stop: {survivors}",
                      "end them in your task manager, then press Start")

    def _finish_stop(self, now: float) -> None:
        if self._proc is not None:
            self._proc.poll()
        self._proc, self._stopping = None, None
        self.folder.stopped()
        state, reason, hint = self._after_stop
        if state is NodeState.BACKOFF:
            if self._desire is _Desire.STOP:
                self._set(NodeState.STOPPED, "stopped by the provider")
                return
            # the clock read now, not the tick's start: a tick's blocking calls (poll, probe, process table) take
            # seconds, and a stale `now` made "restarting in 2 s" wait 0.5 s
            self._retry_at = self.clock.monotonic() + self._retry_delay
        if state is NodeState.FAILED:
            if self._cooldown is not None and self._desire is not _Desire.STOP:
                self._cooling_until, self._cooled_for = self.clock.monotonic() + self._cooldown, self._cooldown
            else:
                self._desire = _Desire.STOP
        self._cooldown = None
        self._set(state, reason, hint)

    # ----- output and faults -----
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

    # ----- what the provider sees -----
    def _retry_in(self, now: float) -> float | None:
        """Seconds to the next try by itself; None when there is none (running, stopped, failed for good)."""
        if self._state is NodeState.BACKOFF:
            return round(max(0.0, self._retry_at - now), 1)
        if self._state is NodeState.FAILED and self._cooling_until is not None:
            return round(max(0.0, self._cooling_until - now), 1)
        return None

    def status(self) -> NodeStatus:
        with self._lock:
            now = self.clock.monotonic()
            return NodeStatus(
                name=self.spec.name,
                state=self._state,
                reason=self._reason,
                hint=" ".join(part for part in (self.faults.summary(), self._hint) if part),
                pid=self._proc.pid if self._proc else None,
                model=self.spec.model,
                **self._word.status_fields(self.spec.dht_prefix, self._state in RUNNING_STATES, self._proc is not None,
                                           self._serving_since, now),
                uptime_s=round(now - self._serving_since, 1) if self._serving_since is not None else 0.0,
                restarts=self._restarts,
                retry_in_s=self._retry_in(now),
                stop_requested=self._desire is _Desire.STOP,
                log_lines=list(self._failure_lines) if self._state is NodeState.FAILED else [],
                updated_at=self.clock.wall(),
            )

