"""Fuzz tests of the chain RPC reader's replies (Hypothesis), over real HTTP from a hostile RPC on loopback: any body,
shape or number ends in the value read or a plain FarNodeError (unreachable, pending, mismatch), never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farnode_desktop.core.earnings.payouts import PAYOUT_TOPIC, TRANSFER_TOPIC, ChainReader
from farnode_desktop.core.errors import FarNodeError
from tests.hostile_inputs import ReplyServer, json_values, raw_bytes, swapped

TOKEN, WALLET = "0x" + "cd" * 20, "0x" + "ab" * 20
TX, CLAIM_ID = "0x" + "22" * 32, "0x" + "11" * 32
VALUE = 10**15
RECEIPT = {"transactionHash": TX, "status": "0x1", "blockNumber": "0x10", "blockHash": "0x" + "33" * 32,
           "from": "0x" + "ee" * 20, "to": TOKEN, "gasUsed": "0x5208", "logs": [
               {"address": TOKEN, "topics": [PAYOUT_TOPIC, CLAIM_ID, "0x" + "00" * 12 + WALLET[2:]],
                "data": "0x" + f"{VALUE:064x}", "logIndex": "0x0"},
               {"address": TOKEN, "topics": [TRANSFER_TOPIC, "0x" + "00" * 12 + "ee" * 20, "0x" + "00" * 12 + WALLET[2:]],
                "data": "0x" + f"{VALUE:064x}", "logIndex": "0x1"}]}
CALLS = {
    "chain_id": ("0x539", lambda r: r.chain_id()),
    "code_hash": ("0x6080", lambda r: r.code_hash(TOKEN)),
    "token_balance": ("0x" + f"{VALUE:064x}", lambda r: r.token_balance(TOKEN, WALLET)),
    "confirm_payout": (RECEIPT, lambda r: r.confirm_payout(TX, TOKEN, CLAIM_ID, WALLET, VALUE)),
}


def reply(result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "result": result}


@pytest.fixture(scope="module")
def rpc() -> Iterator[ReplyServer]:
    server = ReplyServer()
    yield server
    server.close()


def test_the_templates_are_replies_the_reader_accepts(rpc: ReplyServer) -> None:
    for result, call in CALLS.values():
        rpc.answer(json.dumps(reply(result)).encode())
        assert call(ChainReader(rpc.url)) is not None


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_any_reply_is_read_or_refused_in_plain_words(rpc: ReplyServer, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(CALLS)), label="call")
    result, call = CALLS[name]
    body = data.draw(st.one_of(raw_bytes, json_values.map(lambda v: json.dumps(v).encode()),
                               swapped(reply(result)).map(lambda v: json.dumps(v).encode())), label="body")
    rpc.answer(body, data.draw(st.sampled_from([200, 200, 200, 400, 500]), label="status"))
    try:
        call(ChainReader(rpc.url))
    except FarNodeError as exc:
        assert str(exc)
