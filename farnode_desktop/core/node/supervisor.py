"""The node supervisor: a state machine, ticked by `transition(now)`, that keeps one Petals server serving."""

from __future__ import annotations

from collections.abc import Callable

from farnode_desktop.core.node import health as node_health
from farnode_desktop.core.node.draining import DRAINED, Drain
from farnode_desktop.core.node.facts import blocks_text
from farnode_desktop.core.node.process_group import PID_FILE
from farnode_desktop.core.node.restarts import SupervisorPolicy, duration_text
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import (
    RUNNING_STATES,
    NodeState,
    NodeStatus,
)
from farnode_desktop.core.node.supervisor_core import Desire
from farnode_desktop.core.node.supervisor_launch import LaunchRules
from farnode_desktop.core.node.supervisor_stop import StopRules
from farnode_desktop.mesh.wire import NodeReport, ServerState

__all__ = ["PID_FILE", "NodeSpec", "NodeState", "NodeStatus", "NodeSupervisor", "SupervisorPolicy"]


class NodeSupervisor(LaunchRules, StopRules):
    """Launches, watches, restarts and stops one node server; every change of state is an event with a reason."""

    # ----- the provider's controls (any thread) -----
    def start(self, reason: str = "") -> None:
        """Run the node; `reason` is what its log says of the launch this starts (else "started by the provider")."""
        with self._lock:
            self._desire = Desire.RUN
            if reason and self._state in (NodeState.STOPPED, NodeState.FAILED):
                self._launch_why = reason
            if self._state is NodeState.FAILED:
                self._budget.reset()
                self._cooling_until = None
        self.transition(self.clock.monotonic())

    def stop(self) -> None:
        with self._lock:
            self._drain = None
            self._desire = Desire.STOP
        self.transition(self.clock.monotonic())

    def drain(self, reason: str, deadline_s: float, relaunch: bool) -> None:
        """Let the running inference sessions finish (at most `deadline_s`), then stop gracefully; `relaunch` starts
        the node again at once (a new plan), else it stays stopped until started (a runtime switch)."""
        with self._lock:
            if self._state in RUNNING_STATES and self._desire is Desire.RUN:
                self._drain = Drain(reason, self.clock.monotonic() + deadline_s, relaunch)
            elif not relaunch:
                self._desire = Desire.STOP
        self.transition(self.clock.monotonic())

    def pause(self, reason: str) -> None:
        with self._lock:
            self._drain = None
            self._desire = Desire.PAUSE
            self._pause_reason = reason
        self.transition(self.clock.monotonic())

    def resume(self, reason: str) -> None:
        with self._lock:
            self._desire = Desire.RUN
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
            if self._desire is Desire.RUN and (state is NodeState.STOPPED or not self._budget.failures):
                why, self._launch_why = self._launch_why, None
                self._launch_or_provision(now, why or "started by the provider")
            elif self._desire is Desire.PAUSE and state is NodeState.STOPPED:
                self._set(NodeState.PAUSED, self._pause_reason)
        elif state is NodeState.PROVISIONING:
            self._tick_provisioning(now)
        elif state in RUNNING_STATES:
            return self._tick_running(now)
        elif state is NodeState.BACKOFF:
            if self._desire is not Desire.RUN:
                self._step_aside()
            elif now >= self._retry_at:
                self._launch(now, f"restarting (attempt {self._budget.consecutive + 1})")
        elif state is NodeState.STOPPING:
            self._tick_stopping(now)
        elif state is NodeState.PAUSED:
            if self._desire is Desire.RUN:
                self._launch_or_provision(now, self._resume_reason)
            elif self._desire is Desire.STOP:
                self._set(NodeState.STOPPED, "stopped by the provider")
        return False

    def _tick_cooling(self, now: float) -> None:
        """FAILED by a cause that can heal: wait out the cool-down, then try again by itself."""
        assert self._cooling_until is not None
        if self._desire is Desire.STOP:
            self._cooling_until = None
            self._set(NodeState.STOPPED, "stopped by the provider")
        elif now >= self._cooling_until:
            waited = duration_text(self._cooled_for)
            self._cooling_until = None
            if self._desire is Desire.PAUSE:
                self._set(NodeState.PAUSED, self._pause_reason)
            else:
                self._launch_or_provision(now, f"trying again by itself after a {waited} cool-down")

    def _tick_running(self, now: float) -> bool:
        """The rules for a running server up to its status probe; True when the probe is due (transition asks it)."""
        proc = self._proc
        assert proc is not None
        if self._desire is Desire.STOP:
            self._begin_stop(now, graceful=True, then=(NodeState.STOPPED, "stopped by the provider", ""))
            return False
        if self._desire is Desire.PAUSE:
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
            self._desire = Desire.STOP
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

    # ----- what the provider sees -----
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
                stop_requested=self._desire is Desire.STOP,
                log_lines=list(self._failure_lines) if self._state is NodeState.FAILED else [],
                updated_at=self.clock.wall(),
            )

