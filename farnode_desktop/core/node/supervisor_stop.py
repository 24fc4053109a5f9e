"""The node supervisor's stopping rules: a graceful or forced stop of the server's group, and what state follows
(stopped, paused, a restart after a back-off, or failed with a cool-down)."""

from __future__ import annotations

from farnode_desktop.core.node.restarts import duration_text
from farnode_desktop.core.node.status import (
    NodeState,
)
from farnode_desktop.core.node.stopping import GroupStop
from farnode_desktop.core.node.supervisor_core import Desire, SupervisorCore


class StopRules(SupervisorCore):
    """Stops the server and settles the state that follows."""

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
            self._desire = Desire.STOP
            self._set(NodeState.FAILED, f"some server processes would not stop: {survivors}",
                      "end them in your task manager, then press Start")

    def _finish_stop(self, now: float) -> None:
        if self._proc is not None:
            self._proc.poll()
        self._proc, self._stopping = None, None
        self.folder.stopped()
        state, reason, hint = self._after_stop
        if state is NodeState.BACKOFF:
            if self._desire is Desire.STOP:
                self._set(NodeState.STOPPED, "stopped by the provider")
                return
            # the clock read now, not the tick's start: a tick's blocking calls (poll, probe, process table) take
            # seconds, and a stale `now` made "restarting in 2 s" wait 0.5 s
            self._retry_at = self.clock.monotonic() + self._retry_delay
        if state is NodeState.FAILED:
            if self._cooldown is not None and self._desire is not Desire.STOP:
                self._cooling_until, self._cooled_for = self.clock.monotonic() + self._cooldown, self._cooldown
            else:
                self._desire = Desire.STOP
        self._cooldown = None
        self._set(state, reason, hint)
