"""Claims under the manifest's per-chain terms, against a real devnet over HTTP: a FarNode older than the chain's
min_app_version makes no new claim ("update FarNode to keep claiming") yet still follows one it signed before to its
payout, and a coordinator fee above the share the manifest states is refused."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from farnode_desktop.core.earnings.claims import ClaimService
from farnode_desktop.core.earnings.coordinator import CoordinatorClient, CoordinatorUnreachable
from farnode_desktop.core.earnings.ledger import ClaimState, Ledger
from farnode_desktop.core.earnings.network import PinnedNetworks
from farnode_desktop.core.earnings.payouts import ChainReader
from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.devnet import Devnet
from tests.devnet.helpers import DEVNET_FEE as FEE
from tests.devnet.helpers import DEVNET_RATE as RATE
from tests.devnet.helpers import KeySigner, devnet_terms, report_usage

PEER = "12D3KooWTermsPeer"


def _earn(devnet: Devnet, signer: KeySigner, tokens: int = 1000) -> CoordinatorClient:
    assert devnet.info is not None
    client = CoordinatorClient(devnet.info.coordinator_url)
    client.bind_node(signer, PEER, devnet_terms(devnet.info))
    rows = [{"peer_id": PEER, "start_block": 0, "end_block": 4, "tokens": tokens}]
    assert report_usage(devnet.info, rows)[0] == 200
    return client


def _service(devnet: Devnet, signer: KeySigner, client: CoordinatorClient, app_version: str = "0.1.0",
             **terms: object) -> ClaimService:
    assert devnet.info is not None
    network = dataclasses.replace(devnet.info.pinned_network(), **terms)  # type: ignore[arg-type]
    return ClaimService(signer, client, Ledger(AppPaths.default().ledger_file), ChainReader(devnet.info.rpc_url),
                        networks=PinnedNetworks((network,)), app_version=app_version)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_older_farnode_makes_no_new_claim_but_follows_a_signed_one_to_its_payout(
        devnet: Devnet, farnode_home: Path) -> None:
    signer = KeySigner()
    live = _earn(devnet, signer)
    # signed under the old terms, then the coordinator went away before it was submitted
    down = _service(devnet, signer, CoordinatorClient(f"http://127.0.0.1:{_free_port()}"))
    with pytest.raises(CoordinatorUnreachable):
        down.start(_service(devnet, signer, live).quote())
    down._ledger.close()
    # the signed manifest now asks for FarNode 0.2.0 on this chain; this one is 0.1.0
    old = _service(devnet, signer, live, min_app_version="0.2.0")
    [(record, error)] = old.resume_all()
    record = old.follow(record, timeout_s=30)
    assert error is None and record.state is ClaimState.CONFIRMED, record.reason  # nothing earned is lost
    assert devnet.chain.balance_of(signer.address()) == 4000 * RATE - FEE
    _earn(devnet, signer, tokens=1000)
    quote = old.quote()
    assert quote.problem == ("this FarNode is version 0.1.0, older than version 0.2.0 that FarNode devnet on this PC "
                             f"(chain {quote.network.chain_id}) asks for: update FarNode to keep claiming")
    with pytest.raises(UserInputError, match=r"^no claim was made: .*update FarNode to keep claiming"):
        old.start(quote)
    assert len(old._ledger.claims(signer.address())) == 1  # nothing new was signed
    updated = _service(devnet, signer, live, app_version="0.2.0", min_app_version="0.2.0")
    assert updated.quote().can_claim


def test_a_fee_above_the_share_the_manifest_states_is_refused(devnet: Devnet, farnode_home: Path) -> None:
    signer = KeySigner()
    live = _earn(devnet, signer)  # 4000 x RATE claimable, a flat FEE per claim
    exact = FEE * 10_000 // (4000 * RATE)  # the fee's share of this claim, in basis points
    assert _service(devnet, signer, live, fee_bps=exact).quote().problem == ""
    refused = _service(devnet, signer, live, fee_bps=exact - 1).quote()
    assert not refused.can_claim
    assert refused.problem.startswith("the coordinator's fee (0.00001 FAR) is more than the ")
    assert "signed network manifest allows on 0.004 FAR; claim a larger amount later" in refused.problem
