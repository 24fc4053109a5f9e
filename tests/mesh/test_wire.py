"""The typed wire between a node's status endpoint and the app: every field of the answer is checked, the JSON keeps
its shape, and the supervisor's states are derived from the server's."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from farnode_desktop.core.node.status import NodeState
from farnode_desktop.mesh.wire import MAX_TEXT, HealthReport, NodeReport, ServedCounts, ServerState, capped

HEALTH = HealthReport(checks=3, passed=2, failed=1, consecutive_failures=1, last_error="boom",
                      last_passed_ago_s=4.0, last_took_s=0.03, running_s=None, cpu_s=0.2)
SERVED = ServedCounts(served_tokens=12, tokens_by_block={"0": 6, "1": 6}, steps_by_block={"0": 2, "1": 2},
                      requests={"inference": 1, "forward": 1, "backward": 0},
                      tokens_by_kind={"inference": 8, "forward": 4, "backward": 0}, failed_batches=1,
                      last_failure="RuntimeError: boom", busy_seconds=0.25, own_check_seconds=0.01)
REPORT = NodeReport(state=ServerState.SERVING, pid=4321, uptime_s=12.5, peer_id="QmPeer",
                    multiaddrs=("/ip4/127.0.0.1/tcp/5/p2p/QmPeer",), dht_prefix="tiny-hf", start_block=0,
                    end_block=2, blocks=(0, 1), served=SERVED, health=HEALTH)
# The keys the endpoint has always sent, in its order (dht_error and health only when there is one).
KEYS = ["state", "pid", "uptime_s", "peer_id", "multiaddrs", "dht_prefix", "start_block", "end_block", "blocks",
        "served_tokens", "tokens_by_block", "steps_by_block", "requests", "tokens_by_kind", "failed_batches",
        "last_failure", "busy_seconds", "own_check_seconds"]


def body(**changes: Any) -> dict[str, Any]:
    return {**REPORT.to_json(), **changes}


def test_a_report_round_trips_through_json_text() -> None:
    assert NodeReport.from_json(json.loads(json.dumps(REPORT.to_json()))) == REPORT
    failing = NodeReport(state=ServerState.STARTING, pid=1, uptime_s=0.0, dht_error="P2PDaemonError: gone")
    assert NodeReport.from_json(json.loads(json.dumps(failing.to_json()))) == failing


def test_the_json_keeps_the_endpoints_keys_and_plain_values() -> None:
    assert list(REPORT.to_json()) == [*KEYS, "health"]
    bare = NodeReport(state=ServerState.LOADING, pid=9, uptime_s=1.0).to_json()
    assert list(bare) == KEYS  # no dht_error, no health: absent, as the endpoint always left them
    assert bare["state"] == "loading blocks" and type(bare["state"]) is str
    assert bare["multiaddrs"] == [] and bare["blocks"] == [] and bare["start_block"] is None
    with_error = NodeReport(state=ServerState.STARTING, pid=9, uptime_s=1.0, dht_error="x").to_json()
    assert list(with_error) == [*KEYS[:9], "dht_error", *KEYS[9:]]


def test_the_server_states_keep_their_words_and_the_supervisor_derives_its_own_from_them() -> None:
    assert [s.value for s in ServerState] == ["starting", "loading blocks", "serving", "stopping"]
    for state in ServerState:
        assert NodeState(state.value).value == state.value  # every state a server reports is a node state
    assert {NodeState.STARTING, NodeState.LOADING, NodeState.SERVING, NodeState.STOPPING} == {
        NodeState(s.value) for s in ServerState}


@pytest.mark.parametrize("name", KEYS)
def test_every_field_is_required(name: str) -> None:
    raw = body()
    del raw[name]
    assert NodeReport.from_json(raw) is None


BAD: list[tuple[str, object]] = [
    ("state", "dancing"), ("state", "Serving"), ("state", None), ("state", 1), ("state", ["serving"]),
    ("pid", -1), ("pid", 0), ("pid", "42"), ("pid", 4.0), ("pid", True), ("pid", None), ("pid", 2**70),
    ("uptime_s", -0.5), ("uptime_s", "1"), ("uptime_s", math.nan), ("uptime_s", math.inf), ("uptime_s", None),
    ("uptime_s", False),
    ("peer_id", 5), ("peer_id", ["QmPeer"]), ("peer_id", "Q" * (MAX_TEXT + 1)),
    ("multiaddrs", "/ip4/1.2.3.4/tcp/5"), ("multiaddrs", [5]), ("multiaddrs", [None]), ("multiaddrs", None),
    ("multiaddrs", ["/ip4/" + "1" * MAX_TEXT]), ("multiaddrs", ["a"] * 100_001),
    ("dht_prefix", 3), ("dht_prefix", "p" * (MAX_TEXT + 1)),
    ("start_block", -1), ("start_block", "0"), ("start_block", 0.0), ("end_block", True),
    ("blocks", [0, -1]), ("blocks", ["0"]), ("blocks", [0.5]), ("blocks", None), ("blocks", {"0": 1}),
    ("served_tokens", -1), ("served_tokens", 1.5), ("served_tokens", None), ("served_tokens", "12"),
    ("tokens_by_block", {"x": 1}), ("tokens_by_block", {"0": -1}), ("tokens_by_block", {"": 1}),
    ("tokens_by_block", {"0": "1"}), ("tokens_by_block", [1]), ("steps_by_block", {"-1": 1}),
    ("requests", {"inference": -1}), ("requests", {"inference": None}), ("requests", {"k" * 65: 1}),
    ("requests", []), ("tokens_by_kind", {"forward": 1.0}),
    ("failed_batches", -1), ("failed_batches", False), ("last_failure", None), ("last_failure", 7),
    ("last_failure", "e" * (MAX_TEXT + 1)),
    ("busy_seconds", -1.0), ("busy_seconds", math.inf), ("own_check_seconds", "0"),
    ("dht_error", 5), ("dht_error", "e" * (MAX_TEXT + 1)),
    ("health", None), ("health", []), ("health", {"passed": -1}), ("health", {"last_error": 5}),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={str(v)[:20]}" for n, v in BAD])
def test_a_field_the_wire_does_not_allow_makes_it_no_report(name: str, value: object) -> None:
    assert NodeReport.from_json(body(**{name: value})) is None


def test_the_blocks_range_is_both_ends_or_neither_and_never_empty() -> None:
    assert NodeReport.from_json(body(start_block=0, end_block=None)) is None
    assert NodeReport.from_json(body(start_block=None, end_block=4)) is None
    assert NodeReport.from_json(body(start_block=3, end_block=3)) is None
    assert NodeReport.from_json(body(start_block=4, end_block=3)) is None
    loading = NodeReport.from_json(body(start_block=None, end_block=None, blocks=[]))
    assert loading is not None and (loading.start_block, loading.end_block, loading.blocks) == (None, None, ())


def test_what_is_not_an_answer_is_no_report_and_extra_keys_are_ignored() -> None:
    for raw in (None, [], "serving", 5, {}, {"state": "serving"}, [REPORT.to_json()]):
        assert NodeReport.from_json(raw) is None, raw
    newer = NodeReport.from_json(body(gpu_temperature_c=71))  # a newer server's extra field
    assert newer == REPORT


def test_the_longest_texts_pass_and_capped_cuts_free_text_to_fit() -> None:
    longest = NodeReport.from_json(body(peer_id="Q" * MAX_TEXT, last_failure="e" * MAX_TEXT))
    assert longest is not None and longest.peer_id == "Q" * MAX_TEXT
    assert capped("x" * (MAX_TEXT * 3)) == "x" * MAX_TEXT and capped("short") == "short"


def test_counts_and_seconds_come_back_as_their_types() -> None:
    report = NodeReport.from_json(body(uptime_s=3, busy_seconds=0))
    assert report is not None
    assert type(report.uptime_s) is float and type(report.served.busy_seconds) is float
    assert isinstance(report.multiaddrs, tuple) and isinstance(report.blocks, tuple)
