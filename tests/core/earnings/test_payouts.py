"""The chain reader on a real devnet chain: only the token's own Payout log naming the claim proves a payout, and a
hostile chain RPC's answers are range-checked, not trusted."""

from __future__ import annotations

import pytest

from farnode_desktop.core.earnings.payouts import ChainReader, ChainUnreachable, PayoutMismatch
from farnode_desktop.devnet import Devnet
from tests.devnet.helpers import FakeRpc, KeySigner

WALLET = "0x88782009F6435E58A3050D42DdE091252d26bbD1"


def test_a_plain_transfer_of_the_right_amount_proves_no_claim(devnet: Devnet) -> None:
    """Only the token's own Payout log, naming the claim, proves a payout; a Transfer alone does not."""
    assert devnet.info is not None
    to = KeySigner().address()
    tx = devnet.chain.transfer(to, 500)
    with pytest.raises(PayoutMismatch, match="no payout of this token"):
        ChainReader(devnet.info.rpc_url).confirm_payout(tx, devnet.info.token_address, "0x" + "ab" * 32, to, 500)


def test_a_hostile_chain_rpc_is_range_checked(devnet: Devnet) -> None:
    assert devnet.info is not None
    for answers, why in [
        ({"eth_chainId": "0x" + "f" * 64}, "out-of-range chain id"),
        ({"eth_chainId": "12"}, "malformed chain id"),
        ({"eth_getTransactionReceipt": {"logs": "x"}}, "readable list of logs"),
        ({"eth_getTransactionReceipt": {"logs": [{"address": "0x1", "topics": [], "data": "0x"}]}}, "log address"),
    ]:
        rpc = FakeRpc(answers, upstream=devnet.info.rpc_url)
        try:
            with pytest.raises(ChainUnreachable, match=why):
                reader = ChainReader(rpc.url)
                reader.chain_id()
                reader.confirm_payout("0x" + "ab" * 32, devnet.info.token_address, "0x" + "cd" * 32, WALLET, 1)
        finally:
            rpc.close()
