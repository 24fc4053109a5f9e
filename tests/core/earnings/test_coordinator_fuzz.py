"""Fuzz tests of the coordinator client's replies (Hypothesis), over real HTTP from a hostile coordinator on loopback:
any body, shape or number at any status ends in the parsed reply or a plain FarNodeError, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farnode_desktop.core.earnings.coordinator import CoordinatorClient
from farnode_desktop.core.errors import FarNodeError
from tests.hostile_inputs import ReplyServer, json_values, raw_bytes, swapped

WALLET = "0x" + "ab" * 20
CLAIM_ID = "0x" + "11" * 32
NETWORK = {"chain_id": 1337, "token": "0x" + "cd" * 20, "verifying_contract": "0x" + "cd" * 20,
           "min_claim": "1000000000000000", "fee": "10000000000000", "rate_per_block_token": "1000000000000",
           "settle_seconds": 0, "claim_deadline_seconds": 3600, "rpc_url": None}
EARNINGS = {"wallet": WALLET, "symbol": "FAR", "decimals": 18, "estimated": "0", "confirmed": "5", "claimable": "5",
            "pending": "0", "paid": "0", "min_claim": "1", "fee": "1", "next_nonce": 3, "as_of": 1.8e9,
            "nodes": [{"peer_id": "12D3KooWPeer", "bound_at": 1.8e9, "served_tokens": 10, "requests": 1,
                       "estimated": "0", "confirmed": "5"}],
            "history": [{"day": "2026-12-07", "earned": "5", "served_tokens": 10, "requests": 1}]}
CLAIM = {"claim_id": CLAIM_ID, "wallet": WALLET, "amount": "5", "fee": "1", "net_amount": "4", "nonce": 3,
         "state": "paid", "reason": None, "tx_hash": "0x" + "22" * 32,
         "credits": [{"credit_id": "r:0", "request_id": "r", "peer_id": "12D3KooWPeer", "start_block": 0,
                      "end_block": 4, "tokens": 10, "amount": "5", "credited_at": 1.8e9}]}
CALLS = {"network": (NETWORK, lambda c: c.network()), "earnings": (EARNINGS, lambda c: c.earnings(WALLET)),
         "claim": (CLAIM, lambda c: c.claim(CLAIM_ID))}


@pytest.fixture(scope="module")
def coordinator() -> Iterator[ReplyServer]:
    server = ReplyServer()
    yield server
    server.close()


def test_the_templates_are_replies_the_client_accepts(coordinator: ReplyServer) -> None:
    client = CoordinatorClient(coordinator.url)
    for template, call in CALLS.values():
        coordinator.answer(json.dumps(template).encode())
        assert call(client) is not None


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_any_reply_is_read_or_refused_in_plain_words(coordinator: ReplyServer, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(CALLS)), label="call")
    template, call = CALLS[name]
    body = data.draw(st.one_of(raw_bytes, json_values.map(lambda v: json.dumps(v).encode()),
                               swapped(template).map(lambda v: json.dumps(v).encode())), label="body")
    status = data.draw(st.sampled_from([200, 200, 200, 201, 400, 404, 409, 500, 503]), label="status")
    coordinator.answer(body, status)
    try:
        result: Any = call(CoordinatorClient(coordinator.url))
    except FarNodeError as exc:
        assert str(exc) and "Traceback" not in str(exc)
    else:
        assert 200 <= status < 300 and result is not None
