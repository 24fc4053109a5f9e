"""Fuzz tests of a node's state file, endpoint file and status answer (Hypothesis): whatever they hold, reading
gives a status, nothing (None), or a plain StateFileUnreadable, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farnode_desktop.core.node.service import read_status, state_file
from farnode_desktop.core.node.status import (
    HttpStatusProbe,
    NodeState,
    NodeStatus,
    StateFileUnreadable,
    load_status_file,
)
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.mesh.wire import NodeReport, ServedCounts, ServerState
from tests.hostile_inputs import ReplyServer, file_contents, raw_bytes, swapped

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None)
STATUS = NodeStatus("gpu0", NodeState.SERVING, "serving blocks 0-3", pid=42, multiaddrs=["/ip4/1.2.3.4/tcp/1"],
                    blocks="0-3", served_tokens=7, restarts=1, retry_in_s=2.5, log_lines=["a"], updated_at=1.8e9)
REPORT = NodeReport(state=ServerState.SERVING, pid=4321, uptime_s=12.5, peer_id="QmPeer",
                    multiaddrs=("/ip4/127.0.0.1/tcp/5/p2p/QmPeer",), dht_prefix="tiny-hf", start_block=0,
                    end_block=2, blocks=(0, 1), served=ServedCounts(served_tokens=12))


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> AppPaths:
    return AppPaths.under(tmp_path_factory.mktemp("status-fuzz")).ensure()


@pytest.fixture(scope="module")
def node_server() -> Iterator[ReplyServer]:
    server = ReplyServer()
    yield server
    server.close()


@FUZZ
@given(content=file_contents(STATUS.to_json()))
def test_any_state_file_reads_as_a_status_or_a_plain_reason(paths: AppPaths, content: bytes) -> None:
    path = state_file(paths, "gpu0")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    try:
        status = load_status_file(path)
    except StateFileUnreadable as exc:
        assert str(path) in str(exc)
    else:
        assert isinstance(status, NodeStatus)
    assert read_status(paths, "gpu0") is None or isinstance(read_status(paths, "gpu0"), NodeStatus)


@FUZZ
@given(data=st.data())
def test_any_endpoint_file_and_status_answer_give_a_report_or_none(paths: AppPaths, node_server: ReplyServer,
                                                                    data: st.DataObject) -> None:
    endpoint = paths.node_dir("gpu0") / "endpoint.json"
    endpoint.parent.mkdir(parents=True, exist_ok=True)
    endpoint.write_bytes(data.draw(file_contents({"url": node_server.url, "token": "t"}), label="endpoint file"))
    node_server.answer(data.draw(st.one_of(raw_bytes, swapped(REPORT.to_json()).map(lambda v: json.dumps(v).encode())),
                                 label="status answer"))
    report = HttpStatusProbe(timeout_s=5).fetch(endpoint)
    assert report is None or isinstance(report, NodeReport)
