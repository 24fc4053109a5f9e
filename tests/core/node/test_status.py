"""A node's status: its JSON round-trips with every field type-checked (the bad one named), the node states follow the
wire's, a next try is said in words and counted down, and a damaged state file is explained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.checked_files import BadValue
from farnode_desktop.core.node.status import (
    NodeState,
    NodeStatus,
    StateFileUnreadable,
    load_status_file,
    next_try,
)
from farnode_desktop.mesh.wire import ServerState


def test_the_servers_own_states_are_node_states_with_the_same_words() -> None:
    for state in ServerState:
        assert NodeState(state.value).value == state.value


def test_a_status_round_trips_through_json() -> None:
    status = NodeStatus("gpu-0", NodeState.SERVING, "serving blocks 0-3", pid=42, multiaddrs=["/ip4/1.2.3.4/tcp/1"],
                        blocks=[0, 1, 2, 3], tokens_per_s=12.5, retry_in_s=None, log_lines=["ok"])
    assert NodeStatus.from_json(json.loads(json.dumps(status.to_json()))) == status
    assert NodeStatus.from_json({"name": "n", "reason": ""}).state is NodeState.STOPPED


@pytest.mark.parametrize(
    ("change", "named"),
    [({"state": "dancing"}, "state: "), ({"pid": "42"}, "pid: "), ({"blocks": [1, "2"]}, "blocks: "),
     ({"served_tokens": 1.5}, "served_tokens: "), ({"name": None}, "name: ")],
)
def test_a_wrong_field_is_named(change: dict[str, Any], named: str) -> None:
    good = NodeStatus("gpu-0", NodeState.SERVING, "ok").to_json()
    with pytest.raises(BadValue, match=named):
        NodeStatus.from_json({**good, **change})
    for missing in ("name", "reason"):
        with pytest.raises(BadValue, match=f"{missing} is missing"):
            NodeStatus.from_json({k: v for k, v in good.items() if k != missing})


@pytest.mark.parametrize(
    ("state", "retry_in_s", "words"),
    [
        (NodeState.BACKOFF, 8.0, "restarting in 8 s"),
        (NodeState.BACKOFF, 0.0, "restarting now"),
        (NodeState.BACKOFF, None, ""),
        (NodeState.FAILED, 600.0, "trying again by itself in 10 min"),
        (NodeState.FAILED, 541.0, "trying again by itself in 10 min"),  # rounded up: never sooner than said
        (NodeState.FAILED, 3600.0, "trying again by itself in 1 h"),
        (NodeState.FAILED, 5400.0, "trying again by itself in 1 h 30 min"),
        (NodeState.FAILED, None, "it will not try again by itself"),
        (NodeState.SERVING, 5.0, ""),
    ],
)
def test_the_next_try_in_words(state: NodeState, retry_in_s: float | None, words: str) -> None:
    assert next_try(NodeStatus("gpu-0", state, "", retry_in_s=retry_in_s)) == words


def test_the_next_try_counts_down_from_when_the_status_was_written() -> None:
    status = NodeStatus("gpu-0", NodeState.FAILED, "crash loop", retry_in_s=600.0, updated_at=1000.0)
    assert next_try(status, now=1000.0 + 300) == "trying again by itself in 5 min"
    assert next_try(status, now=1000.0 + 700) == "trying again by itself now"
    assert next_try(status, now=900.0) == "trying again by itself in 10 min"  # a clock behind never adds time


def test_a_state_file_missing_good_or_damaged(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert load_status_file(path) is None
    path.write_text(json.dumps(NodeStatus("gpu-0", NodeState.PAUSED, "a game is running").to_json()))
    loaded = load_status_file(path)
    assert loaded is not None and loaded.state is NodeState.PAUSED
    path.write_text('{"name": "gpu-0", "reason": "", "pid": "x"}')
    with pytest.raises(StateFileUnreadable, match=r"unreadable \(pid: ") as err:
        load_status_file(path)
    assert "farnode node start" in err.value.hint
