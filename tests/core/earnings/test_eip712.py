"""The EIP-712 messages the wallet signs: their digest is eth-account's own hash of the same typed data, a signature
recovers to its signer only for the very message, chain and contract it was made for."""

from __future__ import annotations

import pytest
from eth_account import Account

from farnode_desktop.core.earnings.eip712 import (
    DOMAIN_NAME,
    Domain,
    bind_node_message,
    message_digest,
    payout_claim_message,
    recover_signer,
)
from tests.devnet.helpers import KeySigner

CONTRACT = "0x" + "11" * 20
DOMAIN = Domain(131277322940537, CONTRACT)


def test_the_digest_is_eth_accounts_own_hash_of_the_message() -> None:
    signer = KeySigner()
    claim = payout_claim_message(DOMAIN, signer.address(), amount=10**18, fee=10**13, nonce=3, deadline=2_000_000_000)
    bind = bind_node_message(DOMAIN, signer.address(), "12D3KooWPeer", 0, 2_000_000_000)
    for typed in (claim, bind):
        signed = Account.sign_typed_data(signer.key, full_message=typed)
        assert message_digest(typed) == "0x" + bytes(signed.message_hash).hex()
    assert message_digest(claim) != message_digest(bind)
    assert claim["domain"]["name"] == DOMAIN_NAME and claim["primaryType"] == "PayoutClaim"


def test_every_field_of_a_claim_changes_its_digest() -> None:
    wallet = KeySigner().address()
    base = {"amount": 10**18, "fee": 10**13, "nonce": 3, "deadline": 2_000_000_000}
    digests = {message_digest(payout_claim_message(DOMAIN, wallet, **base))}
    for name, value in base.items():
        digests.add(message_digest(payout_claim_message(DOMAIN, wallet, **{**base, name: value + 1})))
    digests.add(message_digest(payout_claim_message(Domain(1, CONTRACT), wallet, **base)))
    digests.add(message_digest(payout_claim_message(Domain(DOMAIN.chain_id, "0x" + "22" * 20), wallet, **base)))
    digests.add(message_digest(payout_claim_message(DOMAIN, KeySigner().address(), **base)))
    assert len(digests) == 8  # one claim, one digest: none of them collide


def test_a_signature_recovers_to_its_signer_only_for_its_own_message() -> None:
    signer = KeySigner()
    typed = payout_claim_message(DOMAIN, signer.address(), amount=5, fee=1, nonce=0, deadline=2_000_000_000)
    signature = signer.sign_typed_data(typed)
    assert recover_signer(typed, signature) == signer.address()
    other_chain = payout_claim_message(Domain(1, CONTRACT), signer.address(), amount=5, fee=1, nonce=0,
                                       deadline=2_000_000_000)
    assert recover_signer(other_chain, signature) != signer.address()  # not replayable on another chain
    more = payout_claim_message(DOMAIN, signer.address(), amount=6, fee=1, nonce=0, deadline=2_000_000_000)
    assert recover_signer(more, signature) != signer.address()
    with pytest.raises(ValueError):
        recover_signer(typed, "0xzz")
    for malformed in ("0x1234", "0x" + "00" * 65):  # eth-keys' own errors become the ValueError the docstring names
        with pytest.raises(ValueError, match=r"signature is malformed"):
            recover_signer(typed, malformed)
