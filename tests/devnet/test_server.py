"""The devnet coordinator's rules over real HTTP: credits from gateway usage, bindings, and every way a
claim must be refused (tampered, replayed, wrong chain, expired, above claimable)."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest

from farnode_desktop.core.earnings.coordinator import CoordinatorClient, CoordinatorRejected
from farnode_desktop.core.earnings.eip712 import Domain, payout_claim_message
from farnode_desktop.devnet import Devnet
from tests.devnet.helpers import KeySigner, devnet_terms, post_json, report_usage

PEER = "12D3KooWDevnetPeerA"
RATE = 10**12


def _bound_and_credited(
    devnet: Devnet, tokens: int = 1000, blocks: int = 4
) -> tuple[KeySigner, CoordinatorClient]:
    assert devnet.info is not None
    signer = KeySigner()
    client = CoordinatorClient(devnet.info.coordinator_url)
    client.bind_node(signer, PEER, devnet_terms(devnet.info))
    status, body = report_usage(
        devnet.info, [{"peer_id": PEER, "start_block": 0, "end_block": blocks, "tokens": tokens}]
    )
    assert status == 200, body
    return signer, client


def _claim_body(
    devnet: Devnet,
    signer: KeySigner,
    *,
    amount: int,
    fee: int = 10**13,
    nonce: int = 0,
    deadline: int | None = None,
    chain_id: int | None = None,
) -> dict[str, Any]:
    assert devnet.info is not None
    domain = Domain(chain_id or devnet.info.chain_id, devnet.info.token_address)
    typed = payout_claim_message(
        domain,
        signer.address(),
        amount=amount,
        fee=fee,
        nonce=nonce,
        deadline=deadline or int(time.time()) + 600,
    )
    return {
        "domain": typed["domain"],
        "message": typed["message"],
        "signature": signer.sign_typed_data(typed),
    }


def _submit(devnet: Devnet, body: dict[str, Any]) -> tuple[int, Any]:
    assert devnet.info is not None
    return post_json(devnet.info.coordinator_url + "/v1/claims", body)


def test_usage_credits_the_bound_wallet_by_blocks_times_tokens(devnet: Devnet) -> None:
    signer, client = _bound_and_credited(devnet, tokens=1000, blocks=4)
    assert devnet.info is not None
    report_usage(
        devnet.info,
        [
            {"peer_id": PEER, "start_block": 4, "end_block": 6, "tokens": 10},
            {"peer_id": "12D3KooWSomeoneElse", "start_block": 6, "end_block": 8, "tokens": 10},
        ],
    )
    e = client.earnings(signer.address())
    assert e.claimable == e.confirmed == (4 * 1000 + 2 * 10) * RATE
    assert e.paid == e.pending == e.estimated == 0
    [node] = e.nodes
    assert (node.peer_id, node.served_tokens, node.requests) == (PEER, 1010, 2)
    assert (
        e.history[-1].day == time.strftime("%Y-%m-%d", time.gmtime()) and e.history[-1].served_tokens == 1010
    )
    assert e.next_nonce == 1  # the binding used nonce 0


def test_a_repeated_usage_report_credits_once(devnet: Devnet) -> None:
    signer, client = _bound_and_credited(devnet)
    assert devnet.info is not None
    span = [{"peer_id": PEER, "start_block": 0, "end_block": 1, "tokens": 5}]
    first = report_usage(devnet.info, span, request_id="req-1")
    again = report_usage(devnet.info, span, request_id="req-1")
    assert first[1]["duplicate"] is False and again[1]["duplicate"] is True
    assert client.earnings(signer.address()).claimable == (4 * 1000 + 5) * RATE


def test_usage_needs_the_gateway_token_and_valid_spans(devnet: Devnet) -> None:
    assert devnet.info is not None
    ok_span = [{"peer_id": PEER, "start_block": 0, "end_block": 1, "tokens": 5}]
    status, body = report_usage(devnet.info, ok_span, token="wrong")
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = report_usage(
        devnet.info, [{"peer_id": PEER, "start_block": 3, "end_block": 1, "tokens": 5}]
    )
    assert status == 400 and "end_block > start_block" in body["error"]["message"]
    status, body = report_usage(devnet.info, [{"peer_id": PEER, "start_block": 0, "end_block": 1}])
    assert status == 400 and "'tokens'" in body["error"]["message"]
    req = urllib.request.Request(
        devnet.info.coordinator_url + "/v1/gateway/usage",
        data=b"{not json",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {devnet.info.gateway_token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    with err.value:
        assert err.value.code == 400


def test_a_valid_claim_is_paid_on_chain_minus_the_fee(devnet: Devnet) -> None:
    signer, _ = _bound_and_credited(devnet)
    amount = 4000 * RATE
    status, body = _submit(devnet, _claim_body(devnet, signer, amount=amount, nonce=1))
    assert status == 201, body
    assert body["state"] == "paid" and body["net_amount"] == str(amount - 10**13)
    assert devnet.chain.balance_of(signer.address()) == amount - 10**13
    assert [c["amount"] for c in body["credits"]] == [str(amount)]


def test_tampered_signature_is_refused(devnet: Devnet) -> None:
    signer, client = _bound_and_credited(devnet)
    body = _claim_body(devnet, signer, amount=2 * 10**15, nonce=1)
    body["message"]["amount"] = 4 * 10**15  # changed after signing
    status, reply = _submit(devnet, body)
    assert status == 400 and reply["error"]["code"] == "bad_signature"
    other = KeySigner()
    forged = _claim_body(devnet, other, amount=2 * 10**15, nonce=1)
    forged["message"]["wallet"] = signer.address()  # signed by someone else for this wallet
    assert _submit(devnet, forged)[1]["error"]["code"] == "bad_signature"
    garbage = _claim_body(devnet, signer, amount=2 * 10**15, nonce=1) | {"signature": "0x1234"}
    assert _submit(devnet, garbage)[1]["error"]["code"] == "bad_signature"
    assert devnet.chain.balance_of(signer.address()) == 0
    assert client.earnings(signer.address()).claimable == 4000 * RATE


def test_replayed_claim_pays_once_and_a_reused_nonce_is_refused(devnet: Devnet) -> None:
    signer, client = _bound_and_credited(devnet)
    body = _claim_body(devnet, signer, amount=10**15, nonce=1)
    first = _submit(devnet, body)
    replay = _submit(devnet, body)
    assert first[0] == 201 and replay[0] == 200
    assert replay[1]["claim_id"] == first[1]["claim_id"] and replay[1]["tx_hash"] == first[1]["tx_hash"]
    assert devnet.chain.balance_of(signer.address()) == 10**15 - 10**13
    reused = _claim_body(devnet, signer, amount=2 * 10**15, nonce=1)
    status, reply = _submit(devnet, reused)
    assert status == 409 and reply["error"]["code"] == "nonce_used"
    assert client.earnings(signer.address()).claimable == 3000 * RATE


def test_wrong_chain_id_expired_deadline_and_amount_above_claimable_are_refused(devnet: Devnet) -> None:
    signer, client = _bound_and_credited(devnet)
    cases = {
        "wrong_chain_id": _claim_body(devnet, signer, amount=10**15, nonce=1, chain_id=1),
        "expired": _claim_body(devnet, signer, amount=10**15, nonce=1, deadline=int(time.time()) - 1),
        "above_claimable": _claim_body(devnet, signer, amount=4000 * RATE + 1, nonce=1),
        "below_min_claim": _claim_body(devnet, signer, amount=10**15 - 1, nonce=1),
        "fee_mismatch": _claim_body(devnet, signer, amount=10**15, fee=1, nonce=1),
    }
    for code, body in cases.items():
        status, reply = _submit(devnet, body)
        assert (status, reply["error"]["code"]) == (400, code), code
    assert devnet.chain.balance_of(signer.address()) == 0
    e = client.earnings(signer.address())
    assert e.claimable == 4000 * RATE and e.next_nonce == 1  # nothing was used up by the refusals


def test_the_client_surfaces_refusals_with_their_code(devnet: Devnet) -> None:
    signer, client = _bound_and_credited(devnet)
    body = _claim_body(devnet, signer, amount=5000 * RATE, nonce=1)
    typed = {"domain": body["domain"], "message": body["message"]}
    with pytest.raises(CoordinatorRejected) as err:
        client.submit_claim(typed, body["signature"])
    assert err.value.code == "above_claimable" and "claimable" in str(err.value)


def test_binding_needs_the_wallets_signature(devnet: Devnet) -> None:
    assert devnet.info is not None
    signer, other = KeySigner(), KeySigner()
    from farnode_desktop.core.earnings.eip712 import bind_node_message

    typed = bind_node_message(
        Domain(devnet.info.chain_id, devnet.info.token_address),
        signer.address(),
        PEER,
        0,
        int(time.time()) + 60,
    )
    body = {"domain": typed["domain"], "message": typed["message"], "signature": other.sign_typed_data(typed)}
    status, reply = post_json(devnet.info.coordinator_url + "/v1/nodes/bind", body)
    assert status == 400 and reply["error"]["code"] == "bad_signature"
    body["signature"] = signer.sign_typed_data(typed)
    assert post_json(devnet.info.coordinator_url + "/v1/nodes/bind", body)[0] == 200
    status, reply = post_json(devnet.info.coordinator_url + "/v1/nodes/bind", body)
    assert status == 409 and reply["error"]["code"] == "nonce_used"
