"""What a server has said about itself: its peer from the log until it answers, its answer's fields, the verdict on
its test requests (shown only while a server runs), and served totals that go on across servers."""

from __future__ import annotations

from farnode_desktop.core.node.restarts import SupervisorPolicy
from farnode_desktop.core.node.server_word import ServerWord
from farnode_desktop.mesh.wire import HealthReport, NodeReport, ServedCounts, ServerState


def _answer(tokens: int, peer: str = "12D3KooWanswer", failed: int = 0) -> NodeReport:
    return NodeReport(ServerState.SERVING, pid=42, uptime_s=1.0, peer_id=peer, multiaddrs=("/ip4/127.0.0.1/tcp/1",),
                      dht_prefix="served-prefix", start_block=0, end_block=2, blocks=(0, 1),
                      served=ServedCounts(served_tokens=tokens, requests={"inference": 1}, failed_batches=failed),
                      health=HealthReport(checks=1, passed=1, last_passed_ago_s=3.0))


def test_the_log_names_the_peer_until_the_server_answers_and_the_answer_wins() -> None:
    word = ServerWord(SupervisorPolicy())
    assert word.status_fields("spec-prefix", running=False, has_server=False) == {
        "peer_id": None, "multiaddrs": [], "dht_prefix": "spec-prefix", "start_block": None, "end_block": None,
        "blocks": [], "served_tokens": 0, "tokens_per_s": 0.0, "requests": 0, "no_requests_for_s": None,
        "failed_requests": 0, "health_check": ""}
    word.peer_in_log("12D3KooWlog", ["/ip4/127.0.0.1/tcp/9", 7])
    word.peer_in_log("12D3KooWlater", [])  # the first line naming the peer is kept
    fields = word.status_fields("spec-prefix", running=True, has_server=True)
    assert (fields["peer_id"], fields["multiaddrs"]) == ("12D3KooWlog", ["/ip4/127.0.0.1/tcp/9", "7"])
    word.answered(10.0, _answer(100))
    word.peer_in_log("12D3KooWlog2", [])  # once the server has answered, its log no longer names the peer
    fields = word.status_fields("spec-prefix", running=True, has_server=True)
    assert (fields["peer_id"], fields["dht_prefix"], fields["blocks"]) == ("12D3KooWanswer", "served-prefix", [0, 1])
    assert (fields["start_block"], fields["end_block"], fields["served_tokens"]) == (0, 2, 100)


def test_a_new_server_forgets_what_the_last_said_but_its_served_work_adds_up() -> None:
    word = ServerWord(SupervisorPolicy())
    verdict = word.answered(0.0, _answer(300, failed=2))
    assert verdict is word.health and word.status_fields(None, True, True)["failed_requests"] == 2
    assert word.status_fields(None, True, True)["health_check"] == "a test request passed, 3 s ago"
    assert word.status_fields(None, True, has_server=False)["health_check"] == ""  # no server: no verdict shown
    word.new_server()
    assert (word.remote, word.log_peer, word.health) == (None, None, None)
    word.answered(5.0, _answer(50))
    assert word.status_fields(None, running=True, has_server=True)["served_tokens"] == 350
    assert word.status_fields(None, running=False, has_server=True)["tokens_per_s"] == 0.0


def test_no_requests_counts_from_the_later_of_serving_began_and_the_last_request() -> None:
    word = ServerWord(SupervisorPolicy())
    word.answered(10.0, NodeReport(ServerState.SERVING, pid=7, uptime_s=1.0))
    assert word.status_fields(None, True, True, serving_since=12.0, now=40.0)["no_requests_for_s"] == 28.0
    assert word.status_fields(None, True, True, serving_since=None, now=40.0)["no_requests_for_s"] is None
    word.answered(50.0, NodeReport(ServerState.SERVING, pid=7, uptime_s=1.0,
                                   served=ServedCounts(served_tokens=8, requests={"inference": 1})))
    assert word.status_fields(None, True, True, serving_since=12.0, now=80.0)["no_requests_for_s"] == 30.0
    word.new_server()  # a restart: a request the last server had is older than serving again
    assert word.status_fields(None, True, True, serving_since=90.0, now=95.0)["no_requests_for_s"] == 5.0
