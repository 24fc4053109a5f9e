"""Small facts the supervisor keeps about its node: the port it keeps across restarts, its blocks in words."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.node.machine_faults import MachineFaults
from farnode_desktop.core.node.spec import NodeSpec, free_port
from farnode_desktop.mesh.wire import NodeReport

PORT_FILE = "port"


def blocks_text(spec: NodeSpec, remote: NodeReport | None) -> str:
    """'0-3 of tiny' from the status endpoint's answer, or 'of tiny' while the blocks are not known."""
    model = Path(spec.model).name if spec.is_local_model else spec.model
    if remote is None or remote.start_block is None or remote.end_block is None:
        return f"of {model}"
    return f"{remote.start_block}-{remote.end_block - 1} of {model}"


def kept_port(workdir: Path, faults: MachineFaults) -> int:
    """A node keeps its port across restarts, so the swarm finds it where it was."""
    port_file = workdir / PORT_FILE
    try:
        return int(port_file.read_text().strip())
    except (OSError, ValueError):
        port = free_port()
        faults.attempt("port file", "save the node's port", lambda: port_file.write_text(str(port)))
        return port
