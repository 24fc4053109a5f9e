"""The devnet coordinator under hostile requests over real HTTP: numbers past SQLite's 64 bits, digits int() refuses,
deep, huge, non-UTF-8 and non-Unicode bodies all end in a 4xx saying why, and a refused request never leaves the
coordinator broken for the next one."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from farnode_desktop.core.earnings.eip712 import Domain, payout_claim_message
from farnode_desktop.core.earnings.payouts import PAYOUT_TOPIC
from farnode_desktop.devnet import Devnet
from farnode_desktop.devnet.server import MAX_BODY_BYTES
from tests.devnet.helpers import DEVNET_FEE, KeySigner, report_usage

PEER = "12D3KooWHostilePeer"
RATE = 10**12


def answer(raw: bytes) -> Any:
    """An answer's JSON; an answer that is not JSON (a bare 500 page) as {"not_json": its text}."""
    try:
        return json.loads(raw)
    except ValueError:
        return {"not_json": raw.decode("utf-8", "replace")[:500]}


def post_raw(url: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST raw bytes; the status and the answer (every answer of the devnet is JSON)."""
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, answer(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, answer(exc.read())


def credited(devnet: Devnet, tokens: int = 1000, blocks: int = 4) -> KeySigner:
    """A wallet bound to PEER (directly in the store) with blocks x tokens of settled credit."""
    assert devnet.info is not None
    signer = KeySigner()
    devnet.store.bind(PEER, signer.address())
    status, body = report_usage(devnet.info, [{"peer_id": PEER, "start_block": 0, "end_block": blocks,
                                               "tokens": tokens}])
    assert status == 200, body
    return signer


def claim_body(devnet: Devnet, signer: KeySigner, **message: Any) -> dict[str, Any]:
    assert devnet.info is not None
    fields = {"amount": 2 * 10**15, "fee": DEVNET_FEE, "nonce": 1, "deadline": int(time.time()) + 600, **message}
    typed = payout_claim_message(Domain(devnet.info.chain_id, devnet.info.token_address), signer.address(),
                                 **fields)
    return {"domain": typed["domain"], "message": typed["message"], "signature": signer.sign_typed_data(typed)}


def claim(devnet: Devnet, body: Any) -> tuple[int, Any]:
    assert devnet.info is not None
    return post_raw(devnet.info.coordinator_url + "/v1/claims", json.dumps(body).encode())


def payouts_of(devnet: Devnet, claim_id: str) -> int:
    """How many Payout events the token emitted for `claim_id`, read from the chain itself."""
    with devnet.chain.lock:
        logs = devnet.chain.w3.eth.get_logs({"address": devnet.chain.token_address, "fromBlock": 0,
                                             "topics": [PAYOUT_TOPIC, claim_id]})
    return len(logs)


@pytest.mark.parametrize("field,value", [
    ("nonce", 2**63), ("nonce", 2**64 + 1), ("deadline", 2**63), ("deadline", 2**255),
])
def test_a_signed_claim_with_a_number_past_64_bits_is_a_400(devnet: Devnet, field: str, value: int) -> None:
    signer = credited(devnet)
    status, body = claim(devnet, claim_body(devnet, signer, **{field: value}))
    assert status == 400 and body["error"]["code"] == "bad_request"
    assert f"'{field}'" in body["error"]["message"] and "whole number from 0 to" in body["error"]["message"]
    status, body = claim(devnet, claim_body(devnet, signer))  # the coordinator still pays the next claim
    assert status == 201 and body["state"] == "paid", body


@pytest.mark.parametrize("digits", ["\u00b2", "\u0661\u0662", "\U0001d7d9", "12\u0663", "1" * 5000])
def test_digits_int_refuses_are_a_400(devnet: Devnet, digits: str) -> None:
    assert digits.isdigit()
    signer = credited(devnet)
    body = claim_body(devnet, signer)
    body["message"]["nonce"] = digits
    status, reply = claim(devnet, body)
    assert status == 400 and "'nonce' is missing or not a valid whole number" in reply["error"]["message"]
    assert devnet.info is not None
    status, reply = report_usage(devnet.info, [{"peer_id": PEER, "start_block": 0, "end_block": digits,
                                                "tokens": 1}])
    assert status == 400 and "'end_block'" in reply["error"]["message"]


def test_a_usage_report_that_cannot_be_stored_leaves_the_coordinator_working(devnet: Devnet) -> None:
    """It used to answer 500, leave the shared connection inside a transaction and answer 500 to every claim and
    usage report after it until the devnet restarted."""
    signer = credited(devnet)
    assert devnet.info is not None
    for tokens in (2**63, 2**64, 2**53):
        status, body = report_usage(devnet.info, [{"peer_id": PEER, "start_block": 0, "end_block": 1,
                                                   "tokens": tokens}])
        assert status == 400 and "'tokens'" in body["error"]["message"], body
    assert not devnet.store._db.in_transaction
    status, body = report_usage(devnet.info, [{"peer_id": PEER, "start_block": 0, "end_block": 1, "tokens": 5}])
    assert status == 200 and body["duplicate"] is False
    status, body = claim(devnet, claim_body(devnet, signer))
    assert status == 201 and body["state"] == "paid"


@pytest.mark.parametrize("data,reason", [
    (b"[" * 60_000, "nested deeper than 8 levels"),
    (b'{"domain": ' + b"[" * 20 + b'"' + b'\\"' * 30_000, "nested deeper than 8 levels"),
    (b'{"domain": {"name": "\\ud800"}}', "not Unicode"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"{not json", "not valid JSON"),
    (b"", "not valid JSON"),
])
def test_bad_bodies_are_a_400_at_every_post_endpoint(devnet: Devnet, data: bytes, reason: str) -> None:
    assert devnet.info is not None
    auth = {"Authorization": f"Bearer {devnet.info.gateway_token}"}
    for path in ("/v1/claims", "/v1/nodes/bind", "/v1/gateway/usage"):
        status, body = post_raw(devnet.info.coordinator_url + path, data, auth)
        assert status == 400 and reason in body["error"]["message"], (path, body)


def test_a_body_over_the_limit_is_a_413(devnet: Devnet) -> None:
    assert devnet.info is not None
    data = json.dumps({"request_id": "r", "model": "m", "spans": ["x" * MAX_BODY_BYTES]}).encode()
    status, body = post_raw(devnet.info.coordinator_url + "/v1/claims", data)
    assert status == 413 and body["error"]["code"] == "too_large"


def test_a_peer_id_that_is_not_one_is_a_400(devnet: Devnet) -> None:
    assert devnet.info is not None
    for peer in ("", "peer with spaces", "\x1b[31mred", "p" * 129, "\u0660"):
        status, body = report_usage(devnet.info, [{"peer_id": peer, "start_block": 0, "end_block": 1,
                                                   "tokens": 1}])
        assert status == 400 and "'peer_id'" in body["error"]["message"], peer


def test_a_bad_query_names_the_parameter(devnet: Devnet) -> None:
    assert devnet.info is not None
    url = devnet.info.coordinator_url + "/v1/wallets/0x" + "ab" * 20 + "/earnings?days=" + "9" * 5000
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    with err.value:
        assert err.value.code == 400
        assert json.loads(err.value.read())["error"]["message"].startswith("query.days:")


def test_the_same_claim_sent_at_once_from_eight_threads_is_paid_once(devnet: Devnet) -> None:
    signer = credited(devnet)
    body = claim_body(devnet, signer, amount=3 * 10**15)
    answers: list[tuple[int, Any]] = []
    threads = [threading.Thread(target=lambda: answers.append(claim(devnet, body))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert {a["claim_id"] for _, a in answers} == {answers[0][1]["claim_id"]}
    assert payouts_of(devnet, answers[0][1]["claim_id"]) == 1
    assert devnet.chain.balance_of(signer.address()) == 3 * 10**15 - DEVNET_FEE
