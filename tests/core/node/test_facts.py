"""A node's blocks in words: the served range from the status endpoint (end exclusive there, inclusive in words)."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.node.facts import block_range, block_span, blocks_text
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.mesh.wire import NodeReport, ServerState


def _report(start: int | None, end: int | None) -> NodeReport:
    return NodeReport(ServerState.SERVING, pid=42, uptime_s=1.0, start_block=start, end_block=end)


def test_the_served_blocks_are_shown_inclusive_with_the_model() -> None:
    spec = NodeSpec("node-0", "bigscience/bloom-560m")
    assert blocks_text(spec, _report(0, 4)) == "0-3 of bigscience/bloom-560m"
    assert blocks_text(spec, _report(12, 13)) == "12-12 of bigscience/bloom-560m"


def test_unknown_blocks_name_only_the_model_and_a_local_model_by_its_folder(tmp_path: Path) -> None:
    model = tmp_path / "models" / "tiny"
    model.mkdir(parents=True)
    spec = NodeSpec("node-0", str(model))
    assert blocks_text(spec, None) == "of tiny"
    assert blocks_text(spec, _report(None, None)) == "of tiny"
    assert blocks_text(spec, _report(2, None)) == "of tiny"
    assert blocks_text(spec, _report(2, 5)) == "2-4 of tiny"


def test_one_notation_for_blocks_with_their_count() -> None:
    assert block_span(0, 4) == "0-3" and block_range(0, 4) == "0-3 (4 blocks)"
    assert block_range(12, 13) == "12-12 (1 block)"
