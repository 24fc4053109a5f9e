"""Claims against a real devnet over HTTP: paid and confirmed on chain, and every interruption (coordinator
down, reply lost, deadline passed, chain disagreeing) leaving a record that resumes or explains itself."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.earnings.claims import ClaimService
from farnode_desktop.core.earnings.coordinator import (
    CoordinatorClient,
    CoordinatorUnreachable,
    HttpResponse,
    UrllibTransport,
)
from farnode_desktop.core.earnings.coordinator_models import Earnings
from farnode_desktop.core.earnings.eip712 import Domain, message_digest, payout_claim_message
from farnode_desktop.core.earnings.ledger import ClaimState, Ledger
from farnode_desktop.core.earnings.payouts import ChainReader
from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.events import EventBus, EventLog
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.devnet import Devnet
from tests.devnet.helpers import DEVNET_FEE as FEE
from tests.devnet.helpers import DEVNET_RATE as RATE
from tests.devnet.helpers import FakeRpc, KeySigner, devnet_networks, devnet_terms, report_usage

PEER = "12D3KooWClaimsPeer"



def _earn(devnet: Devnet, signer: KeySigner, tokens: int = 1000) -> CoordinatorClient:
    assert devnet.info is not None
    client = CoordinatorClient(devnet.info.coordinator_url)
    client.bind_node(signer, PEER, devnet_terms(devnet.info))
    assert (
        report_usage(devnet.info, [{"peer_id": PEER, "start_block": 0, "end_block": 4, "tokens": tokens}])[0]
        == 200
    )
    return client


def _service(devnet: Devnet, signer: KeySigner, client: CoordinatorClient, **kw: Any) -> ClaimService:
    assert devnet.info is not None
    ledger = Ledger(AppPaths.default().ledger_file)
    return ClaimService(signer, client, ledger, ChainReader(devnet.info.rpc_url), networks=devnet_networks(devnet.info),
                        **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ReplyLost:
    """The HTTP boundary losing the coordinator's answer to a claim after the coordinator acted on it."""

    def __init__(self) -> None:
        self.real = UrllibTransport()
        self.lost = 0

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> HttpResponse:
        reply = self.real.request(method, url, body, headers)
        if method == "POST" and url.endswith("/v1/claims"):
            self.lost += 1
            raise OSError("connection reset by peer")
        return reply


def test_a_claim_is_paid_confirmed_on_chain_and_linked_to_served_work(
    devnet: Devnet, farnode_home: Path
) -> None:
    signer = KeySigner()
    client = _earn(devnet, signer)
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    service = _service(devnet, signer, client, bus=bus)
    service._ledger.record_served_work(
        "gpu0", PEER, period_start=time.time() - 60, period_end=time.time() + 60, tokens=1000, blocks=4
    )
    quote = service.quote()
    assert (quote.amount, quote.fee, quote.net_amount, quote.problem) == (
        4000 * RATE,
        FEE,
        4000 * RATE - FEE,
        "",
    )
    record = service.follow(service.start(quote), timeout_s=30)
    assert record.state is ClaimState.CONFIRMED, record.reason
    payout = service._ledger.payout(record.id)
    assert payout is not None and payout.value == 4000 * RATE - FEE and payout.receipt["status"] == 1
    assert devnet.chain.balance_of(signer.address()) == 4000 * RATE - FEE
    [credit] = service._ledger.claim_credits(record.id)
    assert credit["peer_id"] == PEER and credit["node"] == "gpu0" and credit["tokens"] == 1000
    assert log.topics() == [
        "claim.prepared",
        "claim.signed",
        "claim.submitted",
        "claim.paid",
        "claim.confirmed",
        "payout.confirmed",
    ]
    after = client.earnings(signer.address())
    assert (after.claimable, after.paid) == (0, 4000 * RATE)
    snapshot = service._ledger.latest_earnings(signer.address())  # what `farnode earnings` shows offline
    assert snapshot is not None and Earnings.parse(snapshot[1]) == quote.earnings


def test_coordinator_down_mid_claim_loses_nothing_and_resumes(devnet: Devnet, farnode_home: Path) -> None:
    signer = KeySigner()
    live = _earn(devnet, signer)
    quote = _service(devnet, signer, live).quote()
    down = _service(devnet, signer, CoordinatorClient(f"http://127.0.0.1:{_free_port()}"))
    with pytest.raises(CoordinatorUnreachable, match="could not be reached"):
        down.start(quote)
    [kept] = down._ledger.unfinished_claims(signer.address())
    assert kept.state is ClaimState.SIGNED and kept.signature
    assert devnet.chain.balance_of(signer.address()) == 0
    with pytest.raises(UserInputError, match="still in progress"):
        down.start(quote)
    down._ledger.close()
    # Next run: a fresh ledger object on the same file, the coordinator back.
    again = _service(devnet, signer, live)
    [(record, error)] = again.resume_all()
    assert error is None and record.state is ClaimState.CONFIRMED and record.id == kept.id
    assert devnet.chain.balance_of(signer.address()) == quote.net_amount


def test_a_lost_reply_resumes_without_paying_twice(devnet: Devnet, farnode_home: Path) -> None:
    assert devnet.info is not None
    signer = KeySigner()
    _earn(devnet, signer)
    lossy = ReplyLost()
    service = _service(devnet, signer, CoordinatorClient(devnet.info.coordinator_url, transport=lossy))
    quote = service.quote()
    with pytest.raises(CoordinatorUnreachable):
        service.start(quote)
    assert lossy.lost == 1
    assert devnet.chain.balance_of(signer.address()) == quote.net_amount  # the coordinator did pay
    [record] = service._ledger.unfinished_claims(signer.address())
    assert record.state is ClaimState.SIGNED
    resumed = _service(devnet, signer, CoordinatorClient(devnet.info.coordinator_url))
    [(done, _)] = resumed.resume_all()
    assert done.state is ClaimState.CONFIRMED
    assert devnet.chain.balance_of(signer.address()) == quote.net_amount  # and only once


def test_a_claim_whose_deadline_passed_offline_fails_and_nothing_is_lost(
    devnet: Devnet, farnode_home: Path
) -> None:
    signer = KeySigner()
    live = _earn(devnet, signer)
    clock = ManualClock(wall_start=time.time())
    quote = _service(devnet, signer, live).quote()
    down = _service(devnet, signer, CoordinatorClient(f"http://127.0.0.1:{_free_port()}"), clock=clock)
    with pytest.raises(CoordinatorUnreachable):
        down.start(quote)
    clock.advance(quote.network.claim_deadline_seconds + 1)
    resumed = _service(devnet, signer, live, clock=clock)
    [(record, _)] = resumed.resume_all()
    assert record.state is ClaimState.FAILED and "deadline passed" in record.reason
    assert live.earnings(signer.address()).claimable == quote.amount
    assert devnet.chain.balance_of(signer.address()) == 0


def test_a_payout_the_chain_does_not_show_is_marked_failed(devnet: Devnet, farnode_home: Path) -> None:
    assert devnet.info is not None
    signer = KeySigner()
    service = _service(devnet, signer, _earn(devnet, signer))
    ledger = service._ledger
    typed = payout_claim_message(Domain(devnet.info.chain_id, devnet.info.token_address), signer.address(),
                                 amount=100, fee=1, nonce=9, deadline=int(time.time()) + 600)
    record = ledger.prepare_claim(coordinator_url="x", token=devnet.info.token_address, typed_data=typed)
    ledger.mark_signed(record.id, "0x00")
    ledger.mark_submitted(record.id, message_digest(typed), ())
    wrong = devnet.chain.transfer(signer.address(), 99)  # a real transfer of the net amount, but no payout
    ledger.mark_paid(record.id, wrong)
    failed = service.advance(ledger.claim(record.id))
    assert failed.state is ClaimState.FAILED and "does not pay this claim" in failed.reason
    paid_other = devnet.chain.pay("0x" + "ee" * 32, signer.address(), 99)  # a real payout of another claim
    again = ledger.prepare_claim(coordinator_url="x", token=devnet.info.token_address, typed_data=typed)
    ledger.mark_signed(again.id, "0x00")
    ledger.mark_submitted(again.id, message_digest(typed), ())
    ledger.mark_paid(again.id, paid_other)
    failed = service.advance(ledger.claim(again.id))
    assert failed.state is ClaimState.FAILED and "does not pay this claim" in failed.reason


def test_a_claim_below_the_minimum_is_explained_not_sent(devnet: Devnet, farnode_home: Path) -> None:
    signer = KeySigner()
    service = _service(devnet, signer, _earn(devnet, signer, tokens=1))
    quote = service.quote()
    assert not quote.can_claim and "the minimum claim is" in quote.problem and "FAR" in quote.problem
    assert "wei" not in quote.problem
    with pytest.raises(UserInputError, match="no claim was made"):
        service.start(quote)
    assert service._ledger.claims() == []


def test_a_coordinator_on_another_chain_than_the_rpc_gets_no_signature(
    devnet: Devnet, farnode_home: Path
) -> None:
    assert devnet.info is not None
    signer = KeySigner()
    client = _earn(devnet, signer)
    other_chain = FakeRpc({"eth_chainId": "0x1"}, upstream=devnet.info.rpc_url)
    try:
        service = ClaimService(signer, client, Ledger(AppPaths.default().ledger_file), ChainReader(other_chain.url),
                               networks=devnet_networks(devnet.info))
        with pytest.raises(FarNodeError, match="your chain RPC is chain 1"):
            service.start(service.quote())
    finally:
        other_chain.close()
    assert service._ledger.claims() == []
