"""The coordinator client: https only (plain http to loopback only), and every malformed reply named by its
field, against a real HTTP server on loopback."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from farnode_desktop.core.earnings.coordinator import (
    CoordinatorBadResponse,
    CoordinatorClient,
    CoordinatorRejected,
    CoordinatorUnreachable,
    check_url,
)
from farnode_desktop.core.errors import UserInputError

WALLET = "0x88782009F6435E58A3050D42DdE091252d26bbD1"
GOOD_EARNINGS: dict[str, Any] = {
    "wallet": WALLET,
    "symbol": "FAR",
    "decimals": 18,
    "estimated": "0",
    "confirmed": "10",
    "claimable": "10",
    "pending": "0",
    "paid": "0",
    "min_claim": "1",
    "fee": "1",
    "next_nonce": 0,
    "as_of": 1.5,
    "nodes": [
        {
            "peer_id": "12D3KooWx",
            "bound_at": 1.0,
            "served_tokens": 5,
            "requests": 1,
            "estimated": "0",
            "confirmed": "10",
        }
    ],
    "history": [{"day": "2026-11-22", "earned": "10", "served_tokens": 5, "requests": 1}],
}


class Canned:
    """A loopback HTTP server that answers every request with the next (status, body) set by the test."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b"{}"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            do_GET = do_POST = _reply

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, body: Any, status: int = 200) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def canned() -> Iterator[Canned]:
    server = Canned()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "https://coordinator.farlabs.ai",
        "http://127.0.0.1:8787/",
        "http://localhost:1",
        "http://[::1]:8787",
        "https://10.0.0.5",
    ],
)
def test_https_anywhere_and_plain_http_only_to_loopback(url: str) -> None:
    assert check_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://coordinator.farlabs.ai",
        "http://192.168.1.10:8787",
        "http://10.0.0.5",
        "http://127.0.0.1.evil.example",
        "ftp://127.0.0.1",
        "coordinator.farlabs.ai",
    ],
)
def test_plain_http_to_another_machine_is_refused(url: str) -> None:
    with pytest.raises(UserInputError) as err:
        CoordinatorClient(url)
    assert "http" in str(err.value) and err.value.hint


def test_a_good_reply_parses(canned: Canned) -> None:
    canned.answer(GOOD_EARNINGS)
    e = CoordinatorClient(canned.url).earnings(WALLET)
    assert e.claimable == 10 and e.nodes[0].peer_id == "12D3KooWx" and e.history[0].earned == 10


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"claimable": 10}, "claimable"),  # a JSON number instead of a decimal string
        ({"claimable": "-5"}, "claimable"),
        ({"next_nonce": "3"}, "next_nonce"),
        ({"wallet": "0x123"}, "wallet"),
        ({"nodes": "none"}, "nodes"),
        (
            {"history": [{"day": "yesterday", "earned": "1", "served_tokens": 1, "requests": 1}]},
            "history[0].day",
        ),
        (
            {
                "nodes": [
                    {
                        "peer_id": "p",
                        "bound_at": 1,
                        "served_tokens": True,
                        "requests": 1,
                        "estimated": "0",
                        "confirmed": "0",
                    }
                ]
            },
            "nodes[0].served_tokens",
        ),
    ],
)
def test_a_malformed_reply_names_the_field(canned: Canned, change: dict[str, Any], field: str) -> None:
    canned.answer({**GOOD_EARNINGS, **change})
    with pytest.raises(CoordinatorBadResponse) as err:
        CoordinatorClient(canned.url).earnings(WALLET)
    assert f"'{field}'" in str(err.value) and err.value.hint


def test_a_missing_field_and_a_non_json_body_are_named(canned: Canned) -> None:
    body = dict(GOOD_EARNINGS)
    del body["fee"]
    canned.answer(body)
    with pytest.raises(CoordinatorBadResponse, match="'fee'"):
        CoordinatorClient(canned.url).earnings(WALLET)
    canned.answer(b"<html>proxy error</html>")
    with pytest.raises(CoordinatorBadResponse, match="not JSON"):
        CoordinatorClient(canned.url).earnings(WALLET)
    canned.answer([1, 2])
    with pytest.raises(CoordinatorBadResponse, match="JSON object"):
        CoordinatorClient(canned.url).earnings(WALLET)


def test_earnings_of_another_wallet_are_refused(canned: Canned) -> None:
    canned.answer({**GOOD_EARNINGS, "wallet": "0x" + "22" * 20})
    with pytest.raises(CoordinatorBadResponse, match="different wallet"):
        CoordinatorClient(canned.url).earnings(WALLET)


def test_a_claim_reply_must_be_consistent(canned: Canned) -> None:
    claim = {
        "claim_id": "0x" + "ab" * 32,
        "wallet": WALLET,
        "amount": "100",
        "fee": "1",
        "net_amount": "99",
        "nonce": 1,
        "state": "paid",
        "reason": None,
        "tx_hash": "0x" + "cd" * 32,
        "credits": [],
    }
    canned.answer(claim)
    assert CoordinatorClient(canned.url).claim(claim["claim_id"]).tx_hash == claim["tx_hash"]
    for change, field in (
        ({"net_amount": "100"}, "net_amount"),
        ({"tx_hash": None}, "tx_hash"),
        ({"state": "done"}, "state"),
        ({"credits": [{"credit_id": "x"}]}, "credits[0]."),
    ):
        canned.answer({**claim, **change})
        with pytest.raises(CoordinatorBadResponse, match=re.escape(f"'{field}")):
            CoordinatorClient(canned.url).claim(claim["claim_id"])


def test_errors_down_and_refusals(canned: Canned) -> None:
    canned.answer({"error": {"code": "nonce_used", "message": "nonce 1 was already used"}}, status=409)
    with pytest.raises(CoordinatorRejected) as err:
        CoordinatorClient(canned.url).earnings(WALLET)
    assert err.value.code == "nonce_used" and "nonce 1" in str(err.value)
    canned.answer(b"oops", status=502)
    with pytest.raises(CoordinatorUnreachable, match="HTTP 502"):
        CoordinatorClient(canned.url).earnings(WALLET)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(CoordinatorUnreachable) as down:
        CoordinatorClient(f"http://127.0.0.1:{free}").earnings(WALLET)
    assert "could not be reached" in str(down.value) and "nothing is lost" in down.value.hint
