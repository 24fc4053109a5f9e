"""Payout claims end to end: quote, sign from the keyring, submit, follow to the payout, confirm on chain;
every step written to the ledger first, so a claim interrupted anywhere resumes on the next run."""

from __future__ import annotations

from dataclasses import dataclass

from farnode_desktop.core.clock import Clock, SystemClock
from farnode_desktop.core.coordinator import (
    CoordinatorClient,
    CoordinatorRejected,
    CoordinatorUnreachable,
    Signer,
)
from farnode_desktop.core.coordinator_models import ClaimStatus, Earnings, NetworkInfo
from farnode_desktop.core.eip712 import Domain, payout_claim_message
from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.ledger import ClaimRecord, ClaimState, Ledger, PayoutRecord
from farnode_desktop.core.payouts import ChainReader, PayoutMismatch, PayoutPending


@dataclass(frozen=True)
class ClaimQuote:
    """What a claim would pay, shown before the provider confirms it."""

    network: NetworkInfo
    earnings: Earnings
    amount: int
    fee: int
    net_amount: int
    problem: str  # empty when the claim can go ahead

    @property
    def can_claim(self) -> bool:
        return not self.problem


class ClaimService:
    """Drives claims through prepared -> signed -> submitted -> paid -> confirmed (or rejected / failed)."""

    def __init__(
        self,
        signer: Signer,
        client: CoordinatorClient,
        ledger: Ledger,
        chain: ChainReader,
        *,
        clock: Clock | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self._signer = signer
        self._client = client
        self._ledger = ledger
        self._chain = chain
        self._clock: Clock = clock or SystemClock()
        self._bus = bus
        self._answers: dict[str, ClaimStatus] = {}

    def _emit(self, record: ClaimRecord) -> None:
        if self._bus is None:
            return
        data = {"claim": record.id, "state": record.state.value, "amount": str(record.amount),
                "tx_hash": record.tx_hash}
        topic = f"claim.{record.state.value}"
        self._bus.emit(Event(topic=topic, source="wallet", reason=record.reason, data=data))
        if record.state is ClaimState.CONFIRMED:
            self._bus.emit(Event(topic="payout.confirmed", source="wallet", reason=record.reason, data=data))

    def quote(self, amount: int | None = None) -> ClaimQuote:
        network = self._client.network()
        earnings = self._client.earnings(self._signer.address())
        self._ledger.record_earnings(earnings)
        gross = earnings.claimable if amount is None else amount
        problem = ""
        if gross > earnings.claimable:
            problem = f"the amount asked ({gross} wei) is more than is claimable ({earnings.claimable} wei)"
        elif gross < earnings.min_claim:
            problem = (f"the claimable amount ({gross} wei) is below the minimum claim ({earnings.min_claim}"
                       " wei); keep serving and claim later")
        elif gross <= earnings.fee:
            problem = f"the fee ({earnings.fee} wei) would take the whole amount"
        return ClaimQuote(network, earnings, gross, earnings.fee, max(gross - earnings.fee, 0), problem)

    def start(self, quote: ClaimQuote) -> ClaimRecord:
        """Prepare, sign and submit the quoted claim, then follow it as far as it goes right now."""
        if not quote.can_claim:
            raise UserInputError(f"no claim was made: {quote.problem}")
        if self._ledger.unfinished_claims(self._signer.address()):
            raise UserInputError(
                "an earlier claim is still in progress", hint="run `farnode claim` again to resume it first"
            )
        net = quote.network
        chain_id = self._chain.chain_id()
        if chain_id != net.chain_id:
            raise FarNodeError(
                f"the coordinator pays on chain {net.chain_id} but your chain RPC is chain {chain_id}",
                hint="point chain_rpc_url at the coordinator's network; nothing was signed",
            )
        wallet = self._signer.address()
        used = [c.nonce for c in self._ledger.claims(wallet)]
        nonce = max([quote.earnings.next_nonce, *(n + 1 for n in used)])
        typed = payout_claim_message(
            Domain(net.chain_id, net.verifying_contract), wallet, amount=quote.amount, fee=quote.fee,
            nonce=nonce, deadline=int(self._clock.wall()) + net.claim_deadline_seconds,
        )
        record = self._ledger.prepare_claim(coordinator_url=self._client.base_url, token=net.token,
                                            typed_data=typed)
        self._emit(record)
        return self.advance(record)

    def advance(self, record: ClaimRecord) -> ClaimRecord:
        """Take one claim as far as it can go now. Raises CoordinatorUnreachable / ChainUnreachable when
        a step has to wait; the ledger already holds everything needed to pick up from there."""
        while not record.finished:
            nxt = self._step(record)
            if nxt.state is record.state:
                return nxt
            record = nxt
            self._emit(record)
        return record

    def _step(self, record: ClaimRecord) -> ClaimRecord:
        state = record.state
        if state in (ClaimState.PREPARED, ClaimState.SIGNED) and self._clock.wall() > record.deadline:
            return self._ledger.mark_failed(
                record.id, "the claim's deadline passed before the coordinator accepted it; nothing was paid,"
                " claim again")
        if state is ClaimState.PREPARED:
            return self._ledger.mark_signed(record.id, self._signer.sign_typed_data(record.typed_data))
        if state is ClaimState.SIGNED:
            try:
                status = self._client.submit_claim(record.typed_data, record.signature)
            except CoordinatorRejected as exc:
                return self._ledger.mark_rejected(record.id, f"{exc.code}: {exc}")
            self._answers[record.id] = status  # the next step reads it instead of asking again
            return self._ledger.mark_submitted(record.id, status.claim_id, status.credits)
        if state is ClaimState.SUBMITTED:
            known = self._answers.pop(record.id, None)
            status = known if known is not None else self._client.claim(record.claim_id)
            return self._apply(record, status)
        if state is ClaimState.PAID:
            try:
                proof = self._chain.confirm_transfer(record.tx_hash, record.token, record.wallet,
                                                     record.net_amount)
            except PayoutPending:
                return record
            except PayoutMismatch as exc:
                return self._ledger.mark_failed(record.id, str(exc))
            payout = PayoutRecord(record.id, proof.tx_hash, proof.block_number, proof.token, proof.recipient,
                                  proof.value, self._clock.wall(), proof.receipt)
            return self._ledger.mark_confirmed(record.id, payout)
        return record

    def _apply(self, record: ClaimRecord, status: ClaimStatus) -> ClaimRecord:
        if status.amount != record.amount or status.fee != record.fee or status.wallet != record.wallet:
            return self._ledger.mark_failed(
                record.id, "the coordinator reports a different amount, fee or wallet than was signed")
        if status.state == "paid":
            return self._ledger.mark_paid(record.id, status.tx_hash)
        if status.state == "failed":
            return self._ledger.mark_failed(record.id, f"the coordinator could not pay: {status.reason}")
        return record

    def follow(self, record: ClaimRecord, timeout_s: float = 60.0, poll_s: float = 1.0) -> ClaimRecord:
        """Advance until the claim is finished or `timeout_s` passes (it then stays resumable)."""
        until = self._clock.monotonic() + timeout_s
        record = self.advance(record)
        while not record.finished and self._clock.monotonic() < until:
            self._clock.sleep(poll_s)
            record = self.advance(record)
        return record

    def resume_all(self) -> list[tuple[ClaimRecord, FarNodeError | None]]:
        """Pick up every unfinished claim of this wallet; each result carries the error that stopped it."""
        results: list[tuple[ClaimRecord, FarNodeError | None]] = []
        for record in self._ledger.unfinished_claims(self._signer.address()):
            try:
                results.append((self.advance(record), None))
            except (CoordinatorUnreachable, FarNodeError) as exc:
                results.append((self._ledger.claim(record.id), exc))
        return results
