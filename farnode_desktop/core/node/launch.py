"""Launch preparation for one node: its folder's files (the server pid file, the status endpoint file, the kept
port), each reached through the host, so a failed write is a machine fault the node is kept through."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from farnode_desktop.core.clock import Clock
from farnode_desktop.core.node.host import NODE_MARKER_ENV, LaunchCommand, ProcessHost, RunningProcess
from farnode_desktop.core.node.machine_faults import MachineFaults
from farnode_desktop.core.node.process_group import PID_FILE, end_leftover_group, new_marker, pid_file_text
from farnode_desktop.core.node.spec import ENDPOINT_FILE, NodeBackend, NodeSpec

PORT_FILE = "port"


class NodeFolder:
    """The working folder of one node, as its supervisor uses it before, during and after each server."""

    def __init__(self, workdir: Path, host: ProcessHost, faults: MachineFaults, clock: Clock) -> None:
        self.workdir = workdir
        self.host = host
        self.faults = faults
        self.clock = clock
        self.marker = ""  # the launch marker of the server last prepared (in its environment and its pid file)
        host.make_dir(workdir)

    @property
    def endpoint_file(self) -> Path:
        return self.workdir / ENDPOINT_FILE

    def prepare(self, spec: NodeSpec, backend: NodeBackend) -> LaunchCommand:
        """Before a launch: end what a killed app left running, keep the port, drop the last server's endpoint."""
        end_leftover_group(self.workdir / PID_FILE, self.host, self.clock)
        if spec.port == 0:
            spec.port = self._kept_port()
        command = backend.command(spec, self.workdir)
        self.marker = new_marker()  # every process of this launch inherits it: the proof that it is ours
        command = dataclasses.replace(command, env={**command.env, NODE_MARKER_ENV: self.marker})
        self.faults.attempt("endpoint file", "remove the old status endpoint file",
                            functools.partial(self.host.remove, self.endpoint_file))
        return command

    def launched(self, proc: RunningProcess) -> None:
        """Save the server's pid file; without it a killed app's next start cannot end this server (it still ends
        itself through its lifeline)."""
        text = pid_file_text(proc, self.host.create_time(proc.pid), self.marker)
        self.faults.attempt("pid file", "save the server's pid file",
                            functools.partial(self.host.write_text, self.workdir / PID_FILE, text))

    def stopped(self) -> None:
        """The server group has ended: its pid file and status endpoint file go with it."""
        for name in (PID_FILE, ENDPOINT_FILE):
            self.faults.attempt(name, f"remove {name}", functools.partial(self.host.remove, self.workdir / name))

    def _kept_port(self) -> int:
        """A node keeps its port across restarts, so the swarm finds it where it was."""
        port_file = self.workdir / PORT_FILE
        try:
            return int(self.host.read_text(port_file).strip())
        except (OSError, ValueError):
            port = self.host.free_port()
            self.faults.attempt("port file", "save the node's port",
                                functools.partial(self.host.write_text, port_file, str(port)))
            return port
