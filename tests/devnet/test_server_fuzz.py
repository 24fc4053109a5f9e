"""Property tests of the devnet coordinator over real HTTP (Hypothesis): generated and hostile bodies, paths and queries
at every endpoint always end in a success or a 4xx with a reason, never a 5xx; signed claims with any numbers are
paid at most once each, and never more than was credited."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from farnode_desktop.core.earnings.eip712 import Domain, bind_node_message, payout_claim_message
from farnode_desktop.devnet import Devnet, Rules
from tests.devnet.helpers import DEVNET_FEE, DEVNET_MIN_CLAIM, DEVNET_RATE, KeySigner
from tests.devnet.test_server_hostile import PEER, answer, payouts_of, post_raw
from tests.hostile_inputs import EDGE_INTS, ints, json_values, number_texts, raw_bytes, swapped

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CREDITED_TOKENS = 10_000  # x 4 blocks x the rate: 0.04 FAR of credit for the claims below


@pytest.fixture(scope="module")
def net() -> Iterator[Devnet]:
    devnet = Devnet(Rules(rate_per_block_token=DEVNET_RATE, min_claim=DEVNET_MIN_CLAIM, fee=DEVNET_FEE,
                          settle_seconds=0))
    devnet.start()
    yield devnet
    devnet.stop()


@pytest.fixture(scope="module")
def signer(net: Devnet) -> KeySigner:
    key = KeySigner()
    net.store.bind(PEER, key.address())
    body = {"request_id": "credit", "model": "m",
            "spans": [{"peer_id": PEER, "start_block": 0, "end_block": 4, "tokens": CREDITED_TOKENS}]}
    assert usage(net, json.dumps(body).encode())[0] == 200
    return key


def usage(net: Devnet, data: bytes, token: str | None = None) -> tuple[int, Any]:
    assert net.info is not None
    return post_raw(net.info.coordinator_url + "/v1/gateway/usage", data,
                    {"Authorization": f"Bearer {token if token is not None else net.info.gateway_token}"})


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, answer(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, answer(exc.read())


def assert_answered(status: int, body: Any) -> None:
    """A success, or a 4xx whose JSON says why (the API's error object, or FastAPI's `detail` for an unknown path)."""
    assert status < 500, body
    if status >= 400:
        reason = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else body.get("detail")
        assert isinstance(reason, str) and reason, body


def signed(net: Devnet, signer: KeySigner, path: str, **numbers: int) -> dict[str, Any]:
    """A body for a signed endpoint (a claim or a binding) whose message carries `numbers`, signed by `signer`."""
    assert net.info is not None
    domain = Domain(net.info.chain_id, net.info.token_address)
    values = {"amount": DEVNET_MIN_CLAIM, "fee": DEVNET_FEE, "nonce": 7, "deadline": int(time.time()) + 600,
              **numbers}
    if path == "/v1/claims":
        typed = payout_claim_message(domain, signer.address(), **values)
    else:
        typed = bind_node_message(domain, signer.address(), PEER, values["nonce"], values["deadline"])
    return {"domain": typed["domain"], "message": typed["message"], "signature": signer.sign_typed_data(typed)}


def templates(net: Devnet, signer: KeySigner) -> dict[str, dict[str, Any]]:
    """A valid body for each POST endpoint (a claim, a binding, a usage report) to swap hostile values into."""
    return {
        "/v1/claims": signed(net, signer, "/v1/claims"),
        "/v1/nodes/bind": signed(net, signer, "/v1/nodes/bind"),
        "/v1/gateway/usage": {"request_id": "r", "model": "m",
                              "spans": [{"peer_id": PEER, "start_block": 0, "end_block": 1, "tokens": 1}]},
    }


def still_working(net: Devnet) -> None:
    """After any request, a valid usage report is still stored: no request leaves the coordinator broken."""
    body = {"request_id": f"probe-{time.monotonic_ns()}", "model": "m",
            "spans": [{"peer_id": PEER, "start_block": 0, "end_block": 1, "tokens": 1}]}
    status, reply = usage(net, json.dumps(body).encode())
    assert status == 200 and reply["duplicate"] is False, reply


@FUZZ
@given(data=st.data())
def test_every_post_endpoint_answers_any_body_with_a_success_or_a_4xx(net: Devnet, signer: KeySigner,
                                                                       data: st.DataObject) -> None:
    assert net.info is not None
    bodies = templates(net, signer)
    path = data.draw(st.sampled_from(sorted(bodies)), label="path")
    raw = data.draw(st.one_of(raw_bytes, json_values.map(lambda v: json.dumps(v).encode()),
                              swapped(bodies[path]).map(lambda v: json.dumps(v).encode())), label="body")
    token = data.draw(st.sampled_from([net.info.gateway_token, "", "wrong"]), label="token")
    status, body = post_raw(net.info.coordinator_url + path, raw, {"Authorization": f"Bearer {token}"})
    assert_answered(status, body)
    still_working(net)


NUMBER_FIELDS = {
    "/v1/claims": [("message", "amount"), ("message", "fee"), ("message", "nonce"), ("message", "deadline"),
                   ("domain", "chainId")],
    "/v1/nodes/bind": [("message", "nonce"), ("message", "deadline"), ("domain", "chainId")],
    "/v1/gateway/usage": [("spans", "start_block"), ("spans", "end_block"), ("spans", "tokens")],
}


@FUZZ
@given(data=st.data())
def test_every_number_field_answers_any_number_or_digits_with_a_success_or_a_4xx(
        net: Devnet, signer: KeySigner, data: st.DataObject) -> None:
    """Each whole-number field given a number at or past a limit, or text of digits: a signed message is signed
    again over the new number when it fits a uint256, so the request reaches the store."""
    assert net.info is not None
    path = data.draw(st.sampled_from(sorted(NUMBER_FIELDS)), label="path")
    part, name = data.draw(st.sampled_from(NUMBER_FIELDS[path]), label="field")
    value = data.draw(st.one_of(st.sampled_from(EDGE_INTS), ints, number_texts), label="value")
    body = templates(net, signer)[path]
    signable = isinstance(value, int) and 0 <= value < 2**256
    if part == "message" and signable:
        body = signed(net, signer, path, **{name: value})
    elif part == "spans":
        body["spans"][0][name] = value
    else:
        body[part][name] = value
    status, reply = post_raw(net.info.coordinator_url + path, json.dumps(body).encode(),
                             {"Authorization": f"Bearer {net.info.gateway_token}"})
    assert_answered(status, reply)
    still_working(net)


path_parts = st.one_of(st.text(max_size=80), st.sampled_from(["0x" + "ab" * 20, "0x" + "11" * 32, "..", "%00"]))


@FUZZ
@given(wallet=path_parts, claim_id=path_parts, days=st.one_of(st.text(max_size=30), st.integers().map(str)))
def test_every_get_endpoint_answers_any_path_and_query_with_a_success_or_a_4xx(net: Devnet, wallet: str,
                                                                               claim_id: str, days: str) -> None:
    assert net.info is not None
    base = net.info.coordinator_url
    w, c = urllib.parse.quote(wallet, safe=""), urllib.parse.quote(claim_id, safe="")
    for url in (f"{base}/v1/network", f"{base}/v1/wallets/{w}/earnings?days={urllib.parse.quote(days)}",
                f"{base}/v1/wallets/{w}/claims", f"{base}/v1/claims/{c}"):
        assert_answered(*get(url))


claim_numbers = st.one_of(st.sampled_from(EDGE_INTS[:2] + EDGE_INTS[3:10]), st.integers(0, 2**256 - 1),
                          st.integers(DEVNET_MIN_CLAIM, 4 * 10**15))


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(claims=st.lists(st.tuples(claim_numbers, st.sampled_from([DEVNET_FEE, 0, DEVNET_FEE + 1]),
                                 st.one_of(st.integers(0, 12), claim_numbers),
                                 st.one_of(st.sampled_from([-10, 600]), claim_numbers), st.integers(1, 3)),
                       min_size=1, max_size=4))
def test_signed_claims_with_any_numbers_are_paid_at_most_once_and_never_past_the_credit(
        net: Devnet, signer: KeySigner, claims: list[tuple[int, int, int, int, int]]) -> None:
    assert net.info is not None
    domain = Domain(net.info.chain_id, net.info.token_address)
    for amount, fee, nonce, deadline_in, repeats in claims:
        deadline = int(time.time()) + deadline_in if deadline_in in (-10, 600) else deadline_in
        typed = payout_claim_message(domain, signer.address(), amount=amount, fee=fee, nonce=nonce,
                                     deadline=deadline)
        body = json.dumps({"domain": typed["domain"], "message": typed["message"],
                           "signature": signer.sign_typed_data(typed)}).encode()
        answers = [post_raw(net.info.coordinator_url + "/v1/claims", body) for _ in range(repeats)]
        for status, reply in answers:
            assert_answered(status, reply)
        paid = {reply["claim_id"] for status, reply in answers if status in (200, 201)}
        assert len(paid) <= 1  # a retry answers the same claim
        for claim_id in paid:
            assert payouts_of(net, claim_id) == (1 if net.store.claim(claim_id)["state"] == "paid" else 0)
    net_paid = net.chain.balance_of(signer.address())
    claimed = sum(int(c["amount"]) for c in net.store.claims_of(signer.address()) if c["state"] == "paid")
    assert net_paid <= claimed <= 4 * CREDITED_TOKENS * DEVNET_RATE
