"""What the wallet agrees to sign: each rule of check_typed_data refuses on its own, and the policy on a real devnet's
checked terms refuses what the app did not agree to."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.earnings.coordinator_models import MAX_DEADLINE_S, NetworkInfo
from farnode_desktop.core.earnings.eip712 import Domain, bind_node_message, payout_claim_message
from farnode_desktop.core.earnings.signing_policy import SigningRefused, SigningTerms, check_typed_data
from farnode_desktop.devnet import Devnet
from tests.devnet.helpers import KeySigner, devnet_terms

WALLET = "0x88782009F6435E58A3050D42DdE091252d26bbD1"
TOKEN = "0x" + "11" * 20
NOW = 1_800_000_000.0
TERMS = SigningTerms(7, TOKEN, fee=10, min_claim=100,
                     network=NetworkInfo(7, TOKEN, TOKEN, 100, 10, 1, 0, 3600, "http://127.0.0.1:1"))


def _claim(**change: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"amount": 1000, "fee": 10, "nonce": 1, "deadline": int(NOW) + 600, **change}
    return payout_claim_message(Domain(change.pop("chain", 7), change.pop("contract", TOKEN)), WALLET,
                                amount=m["amount"], fee=m["fee"], nonce=m["nonce"], deadline=m["deadline"])


def _bind(peer_id: str = "12D3KooWPeer", **message: Any) -> dict[str, Any]:
    typed = bind_node_message(Domain(7, TOKEN), WALLET, peer_id, 1, int(NOW) + 600)
    typed["message"].update(message)
    return typed


def test_a_claim_and_a_binding_on_the_agreed_terms_are_signed() -> None:
    check_typed_data(_claim(), TERMS, WALLET, NOW, claimable=1000)
    check_typed_data(_claim(), TERMS, WALLET.lower(), NOW)  # no claimable known: the amount is not capped
    check_typed_data(_bind(), TERMS, WALLET, NOW)


def _with(typed: dict[str, Any], part: str, **change: Any) -> dict[str, Any]:
    typed[part] = {**typed[part], **change}
    return typed


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ({"primaryType": "PayoutClaim"}, "no domain or body"),
        (_with(_claim(), "domain", name="Another App"), "the domain is not 'Far Labs Coordinator'"),
        (_with(_claim(), "domain", version="2"), "version 1"),
        (_claim(chain=1), "for chain 1, where this installation pins no FAR token for chain 1"),
        (_claim(contract="0x" + "22" * 20), "names contract 0x2222.*, not the payout contract 0x1111"),
        (_with(_claim(), "message", wallet="0x" + "33" * 20), "another wallet"),
        (_claim(nonce=-1), "nonce is not a whole number"),
        (_claim(nonce=True), "nonce is not a whole number"),
        (_claim(deadline=int(NOW)), "deadline must lie within the next 24 hours"),
        (_claim(deadline=int(NOW) + MAX_DEADLINE_S + 1), "deadline must lie within"),
        (_claim(deadline="soon"), "deadline is not a whole number"),
        (_with(_claim(), "message", amount=2**256), "amount is not a whole number"),
        (_claim(fee=11), r"fee \(11 wei\) is not the network's fee \(10 wei\)"),
        (_claim(amount=10), "does not cover the fee"),
        (_claim(amount=99), "below the minimum claim"),
        (_claim(amount=1001), r"more than is claimable \(1000 wei\)"),
        (_bind("peer id with spaces"), "peer id is not a peer id"),
        (_bind(peerId=5), "peer id is not a peer id"),
        ({**_claim(), "primaryType": "Permit"}, "signs only BindNode and PayoutClaim messages, not 'Permit'"),
    ],
)
def test_each_rule_refuses_on_its_own_in_plain_words(typed: dict[str, Any], why: str) -> None:
    with pytest.raises(SigningRefused, match=why) as err:
        check_typed_data(typed, TERMS, WALLET, NOW, claimable=1000)
    assert str(err.value).startswith("refusing to sign: ") and "nothing was signed" in str(err.value)
    assert "Settings" in err.value.hint


def test_the_signing_policy_refuses_what_the_app_did_not_agree_to(devnet: Devnet, farnode_home: Path) -> None:
    from farnode_desktop.core.earnings.signing_policy import check_typed_data

    assert devnet.info is not None
    terms = devnet_terms(devnet.info)
    wallet, now = KeySigner().address(), time.time()
    good = {"amount": 10**16, "fee": terms.fee, "nonce": 1, "deadline": int(now) + 600}

    def typed(**change: Any) -> dict[str, Any]:
        from farnode_desktop.core.earnings.eip712 import Domain

        m = {**good, **change}
        return payout_claim_message(Domain(change.pop("chain", terms.chain_id), terms.verifying_contract), wallet,
                                    amount=m["amount"], fee=m["fee"], nonce=m["nonce"], deadline=m["deadline"])

    check_typed_data(typed(), terms, wallet, now, claimable=10**16)
    for bad, why in [
        (typed(deadline=int(now) + 10**15), "deadline"),
        (typed(deadline=2**64), "deadline"),
        (typed(fee=terms.fee + 1), "fee"),
        (typed(amount=10**17), "more than is claimable"),
        (typed(nonce=2**63), "nonce"),
        (typed(chain=1), "chain 1"),
    ]:
        with pytest.raises(SigningRefused, match=why):
            check_typed_data(bad, terms, wallet, now, claimable=10**16)
