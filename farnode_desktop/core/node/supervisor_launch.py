"""The node supervisor's launch rules: install the node runtime when it is missing, then launch the server."""

from __future__ import annotations

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.group_watch import GroupWatch
from farnode_desktop.core.node.status import (
    NodeState,
)
from farnode_desktop.core.node.supervisor_core import Desire, SupervisorCore


class LaunchRules(SupervisorCore):
    """Launches the server, installing the node runtime first when it is not there."""

    def _launch_or_provision(self, now: float, reason: str) -> None:
        if self.runtime_ready():
            self._launch(now, reason)
            return
        if self.provision is None:
            self._desire = Desire.STOP
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
        if self._desire is not Desire.RUN:  # at once: pip ends in the background, the next start resumes it
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
            self._desire = Desire.STOP
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
            self._desire = Desire.STOP
            self._set(NodeState.FAILED, f"the node server could not be launched: {exc}",
                      "check the node runtime with `farnode runtime check`")
            return
        self._watch = GroupWatch(self._proc.pid, self.policy.frozen_after_s)
        self.folder.launched(self._proc)
        self._launched_at = self._last_probe_at = self._last_probe_ok = self.clock.monotonic()
        self._set(NodeState.STARTING, reason)
