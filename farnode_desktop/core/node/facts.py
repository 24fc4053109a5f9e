"""Small facts the supervisor keeps about its node: its blocks in words (the port it keeps is in launch.py)."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.mesh.wire import NodeReport


def block_span(start: int, end: int) -> str:
    """The one way blocks are written: `0-3` for Petals' start 0, end 4 (end exclusive there, inclusive in words)."""
    return f"{start}-{end - 1}"


def block_range(start: int, end: int) -> str:
    """`0-3 (4 blocks)`: the span with how many blocks it holds (the dashboard's and the payout history's)."""
    n = end - start
    return f"{block_span(start, end)} ({n} block{'' if n == 1 else 's'})"


def blocks_text(spec: NodeSpec, remote: NodeReport | None) -> str:
    """'0-3 of tiny' from the status endpoint's answer, or 'of tiny' while the blocks are not known."""
    model = Path(spec.model).name if spec.is_local_model else spec.model
    if remote is None or remote.start_block is None or remote.end_block is None:
        return f"of {model}"
    return f"{block_span(remote.start_block, remote.end_block)} of {model}"

