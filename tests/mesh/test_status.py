"""The node's status endpoint, run for real on loopback in this interpreter, read by the app's own probe.

mesh/status.py and mesh/serve.py import no torch, hivemind or Petals at module level, so they run here. Petals'
`Server` itself cannot (the app has no Petals): NodeProcess is shown a stand-in with the few attributes it reads
(`dht_prefix`, `dht`, `module_container`); the real one is read by tests/integration/test_node_supervised.py.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from farnode_desktop.core.node.status import HttpStatusProbe
from farnode_desktop.mesh.serve import NodeProcess
from farnode_desktop.mesh.status import StatusFn, serve_status
from farnode_desktop.mesh.wire import HealthReport, NodeReport, ServerState

REPORT = NodeReport(state=ServerState.SERVING, pid=4321, uptime_s=3.5, peer_id="QmPeer",
                    multiaddrs=("/ip4/127.0.0.1/tcp/5/p2p/QmPeer",), dht_prefix="tiny-hf", start_block=0,
                    end_block=2, blocks=(0, 1), health=HealthReport(checks=1, passed=1, cpu_s=0.01))


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    servers = []

    def start(status_fn: StatusFn) -> Path:
        endpoint = tmp_path / f"endpoint-{len(servers)}.json"
        servers.append(serve_status(status_fn, endpoint))
        return endpoint

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def get(endpoint: Path, path: str, token: str | None = None) -> tuple[int, Any]:
    info = json.loads(endpoint.read_text())
    headers = {"Authorization": f"Bearer {info['token'] if token is None else token}"}
    request = urllib.request.Request(info["url"] + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_app_reads_the_report_the_endpoint_serves(serve: Any) -> None:
    endpoint = serve(lambda: REPORT)
    assert HttpStatusProbe().fetch(endpoint) == REPORT
    code, body = get(endpoint, "/status")
    assert code == 200 and body == REPORT.to_json() and body["state"] == "serving"


def test_the_endpoint_file_is_private_and_names_a_loopback_url(serve: Any) -> None:
    endpoint = serve(lambda: REPORT)
    assert stat.S_IMODE(endpoint.stat().st_mode) == 0o600
    info = json.loads(endpoint.read_text())
    assert info["url"].startswith("http://127.0.0.1:") and info["pid"] == os.getpid() and len(info["token"]) >= 24


def test_a_wrong_token_an_unknown_path_and_the_liveness_path(serve: Any) -> None:
    endpoint = serve(lambda: REPORT)
    assert get(endpoint, "/status", token="not-the-token") == (401, {"error": "missing or wrong token"})
    assert get(endpoint, "/status", token="")[0] == 401
    assert get(endpoint, "/nope") == (404, {"error": "not found"})
    assert get(endpoint, "/health") == (200, {"ok": True})
    assert get(endpoint, "/")[0] == 200


class _NotAReport:
    """What a server of another version might send: JSON that is not a NodeReport."""

    def to_json(self) -> dict[str, Any]:
        return {"state": "dancing", "pid": 1}


def test_the_probe_takes_no_answer_that_is_not_a_report(serve: Any, tmp_path: Path) -> None:
    endpoint = serve(lambda: _NotAReport())  # type: ignore[arg-type, return-value]
    assert get(endpoint, "/status")[0] == 200
    assert HttpStatusProbe().fetch(endpoint) is None
    elsewhere = tmp_path / "elsewhere.json"
    info = json.loads(endpoint.read_text())
    elsewhere.write_text(json.dumps({**info, "url": info["url"].replace("127.0.0.1", "localhost")}))
    assert HttpStatusProbe().fetch(elsewhere) is None  # loopback by address only
    assert HttpStatusProbe().fetch(tmp_path / "missing.json") is None
    (tmp_path / "garbage.json").write_text("{not json")
    assert HttpStatusProbe().fetch(tmp_path / "garbage.json") is None


def _stand_in_server(blocks: list[int], ready: bool, dht: Any) -> SimpleNamespace:
    event = threading.Event()
    if ready:
        event.set()
    container = SimpleNamespace(ready=event, module_backends={f"tiny-hf.{b}": object() for b in blocks})
    return SimpleNamespace(dht_prefix="tiny-hf", dht=dht, module_container=container)


class _Dht:
    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.peer_id = SimpleNamespace(to_base58=lambda: "QmPeer")

    def get_visible_maddrs(self) -> list[str]:
        if self.broken:
            raise ConnectionError("p2pd is gone")
        return ["/ip4/127.0.0.1/tcp/5/p2p/QmPeer"]


def test_the_node_process_reports_each_state_through_the_endpoint(serve: Any) -> None:
    node = NodeProcess()
    endpoint = serve(node.status)
    probe = HttpStatusProbe()
    starting = probe.fetch(endpoint)
    assert starting is not None and starting.state is ServerState.STARTING and starting.pid == os.getpid()
    assert (starting.peer_id, starting.blocks, starting.start_block, starting.health) == (None, (), None, None)

    node.attach(_stand_in_server([3, 1, 2], ready=False, dht=_Dht()))
    loading = probe.fetch(endpoint)
    assert loading is not None and loading.state is ServerState.LOADING
    assert (loading.blocks, loading.start_block, loading.end_block) == ((1, 2, 3), 1, 4)
    assert loading.peer_id == "QmPeer" and loading.multiaddrs == ("/ip4/127.0.0.1/tcp/5/p2p/QmPeer",)
    assert loading.dht_prefix == "tiny-hf" and loading.dht_error is None

    node.attach(_stand_in_server([0, 1], ready=True, dht=_Dht()))
    serving = probe.fetch(endpoint)
    assert serving is not None and serving.state is ServerState.SERVING and serving.blocks == (0, 1)

    node.stopping = True
    stopping = probe.fetch(endpoint)
    assert stopping is not None and stopping.state is ServerState.STOPPING


def test_a_dead_dht_is_reported_not_fatal_to_the_endpoint(serve: Any) -> None:
    node = NodeProcess()
    node.attach(_stand_in_server([0], ready=True, dht=_Dht(broken=True)))
    endpoint = serve(node.status)
    report = HttpStatusProbe().fetch(endpoint)
    assert report is not None and report.state is ServerState.SERVING
    assert report.dht_error == "ConnectionError: p2pd is gone"
    assert report.peer_id == "QmPeer" and report.multiaddrs == ()  # what was read before the failure is kept
    assert get(endpoint, "/status")[1]["dht_error"] == "ConnectionError: p2pd is gone"


def test_the_supervisor_tells_a_node_to_take_no_new_session(tmp_path: Path) -> None:
    """POST /drain with the token calls the node's hook; without it nothing happens; an endpoint that has no such
    hook (an older runtime) says it cannot, which the probe tells apart from no answer."""
    told: list[bool] = []
    endpoint = tmp_path / "endpoint.json"
    server = serve_status(lambda: REPORT, endpoint, drain_fn=lambda: told.append(True))
    older = serve_status(lambda: REPORT, tmp_path / "older.json")
    try:
        info = json.loads(endpoint.read_text())
        request = urllib.request.Request(info["url"] + "/drain", data=b"", method="POST",
                                         headers={"Authorization": "Bearer not-the-token"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401 and told == []
        assert HttpStatusProbe().refuse_sessions(endpoint) is True and told == [True]
        assert HttpStatusProbe().refuse_sessions(tmp_path / "older.json") is False
        assert HttpStatusProbe().refuse_sessions(tmp_path / "gone.json") is None
    finally:
        for s in (server, older):
            s.shutdown()
            s.server_close()
