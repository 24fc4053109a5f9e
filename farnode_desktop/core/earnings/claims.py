"""Payout claims end to end: quote, sign from the keyring, submit, follow to the payout, confirm on chain;
every step written to the ledger first, so a claim interrupted anywhere resumes on the next run, and every
claim ends (confirmed, rejected or failed with its reason) at the latest an hour after its deadline."""

from __future__ import annotations

from dataclasses import dataclass

from farnode_desktop import __version__
from farnode_desktop.core.clock import Clock, SystemClock
from farnode_desktop.core.earnings import claim_words
from farnode_desktop.core.earnings.coordinator import (
    CoordinatorClient,
    CoordinatorRejected,
    CoordinatorUnreachable,
    Signer,
)
from farnode_desktop.core.earnings.coordinator_models import MAX_DEADLINE_S, ClaimStatus, Earnings, NetworkInfo
from farnode_desktop.core.earnings.eip712 import Domain, message_digest, payout_claim_message
from farnode_desktop.core.earnings.ledger import ClaimRecord, ClaimState, Ledger, PayoutAlreadyUsed, PayoutRecord
from farnode_desktop.core.earnings.network import NotPinned, PinnedNetwork, PinnedNetworks, installation_networks
from farnode_desktop.core.earnings.payouts import ChainReader, PayoutMismatch, PayoutPending
from farnode_desktop.core.earnings.signing_policy import SigningTerms, check_typed_data, verify_terms
from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.events import Event, EventBus

# How long after a claim's signed deadline FarNode keeps waiting for the coordinator to pay it (or for the
# payout to show on chain) before it re-checks both and marks the claim failed, so a new claim can go out.
SETTLE_GRACE_S = 3600.0


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
        expected_chain_id: int | None = None,
        networks: PinnedNetworks | None = None,
        app_version: str = __version__,
    ) -> None:
        self._signer = signer
        self._client = client
        self._ledger = ledger
        self._chain = chain
        self._clock: Clock = clock or SystemClock()
        self._bus = bus
        self._expected_chain_id = expected_chain_id
        self._networks = networks if networks is not None else installation_networks()
        self._app_version = app_version
        self._terms: SigningTerms | None = None
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

    def terms(self, network: NetworkInfo | None = None) -> SigningTerms:
        """The chain, contract and fee claims are signed for, checked on the provider's own chain."""
        if self._terms is None or (network is not None and network != self._terms.network):
            self._terms = verify_terms(network or self._client.network(), self._chain, self._networks,
                                       self._expected_chain_id)
        return self._terms

    def quote(self, amount: int | None = None) -> ClaimQuote:
        network = self._client.network()
        earnings = self._client.earnings(self._signer.address())
        self._ledger.record_earnings(earnings)
        gross = earnings.claimable if amount is None else amount

        def far(wei: int) -> str:
            return claim_words.amount(wei, earnings.decimals, earnings.symbol)

        problem = ""
        pinned = self._networks.get(network.chain_id)
        too_old = pinned.too_old(self._app_version) if pinned is not None else None
        if too_old is not None:  # new claims only: one already signed is still followed to its payout
            problem = too_old
        elif earnings.fee != network.fee or earnings.min_claim != network.min_claim:
            problem = "the coordinator's earnings and network replies name different fees or minimum claims"
        elif earnings.claimable > earnings.confirmed:
            problem = "the coordinator reports more claimable than confirmed earnings"
        elif gross > earnings.claimable:
            problem = f"the amount asked ({far(gross)}) is more than is claimable ({far(earnings.claimable)})"
        elif gross < earnings.min_claim:
            problem = (f"you have {far(gross)} to claim; the minimum claim is {far(earnings.min_claim)}. Keep "
                       "serving and claim once you reach it")
        elif gross <= earnings.fee:
            problem = f"the fee ({far(earnings.fee)}) would take the whole amount ({far(gross)}); claim later"
        elif pinned is not None and pinned.fee_bps is not None and earnings.fee * 10_000 > gross * pinned.fee_bps:
            problem = (f"the coordinator's fee ({far(earnings.fee)}) is more than the {pinned.fee_text} that "
                       f"{pinned.name}'s signed network manifest allows on {far(gross)}; claim a larger amount later, "
                       "or report it to Far Labs")
        return ClaimQuote(network, earnings, gross, earnings.fee, max(gross - earnings.fee, 0), problem)

    def start(self, quote: ClaimQuote) -> ClaimRecord:
        """Prepare, sign and submit the quoted claim, then follow it as far as it goes right now."""
        if not quote.can_claim:
            raise UserInputError(f"no claim was made: {quote.problem}")
        if self._ledger.unfinished_claims(self._signer.address()):
            raise UserInputError(
                "an earlier claim is still in progress", hint="run `farnode claim` again to resume it first"
            )
        terms = self.terms(quote.network)
        wallet = self._signer.address()
        used = [c.nonce for c in self._ledger.claims(wallet)]
        nonce = max([quote.earnings.next_nonce, *(n + 1 for n in used)])
        now = self._clock.wall()
        valid_for = min(quote.network.claim_deadline_seconds, MAX_DEADLINE_S)
        typed = payout_claim_message(
            Domain(terms.chain_id, terms.verifying_contract), wallet, amount=quote.amount, fee=quote.fee,
            nonce=nonce, deadline=int(now) + valid_for,
        )
        check_typed_data(typed, terms, wallet, now, claimable=quote.earnings.claimable)
        token = terms.pinned.token if terms.pinned is not None and terms.pinned.token else terms.verifying_contract
        record = self._ledger.prepare_claim(coordinator_url=self._client.base_url, token=token, typed_data=typed)
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

    def _overdue(self, record: ClaimRecord) -> bool:
        return self._clock.wall() > record.deadline + SETTLE_GRACE_S

    def _step(self, record: ClaimRecord) -> ClaimRecord:
        state = record.state
        digest = message_digest(record.typed_data)  # the claim id, computed here, never taken from a reply
        now = self._clock.wall()
        if state is ClaimState.PREPARED:
            if now > record.deadline:
                return self._ledger.mark_failed(record.id, "the claim's deadline passed before it was signed;"
                                                " nothing was paid, claim again")
            check_typed_data(record.typed_data, self.terms(), self._signer.address(), now)
            return self._ledger.mark_signed(record.id, self._signer.sign_typed_data(record.typed_data))
        if state is ClaimState.SIGNED:
            if now > record.deadline:  # the answer may have been lost: ask before giving up
                try:
                    status = self._client.claim(digest)
                except CoordinatorRejected as exc:
                    if exc.code != "unknown_claim" and exc.status != 404:
                        raise
                    return self._ledger.mark_failed(
                        record.id, "the claim's deadline passed before the coordinator accepted it; nothing was"
                        " paid, claim again")
                except CoordinatorUnreachable:
                    if not self._overdue(record):
                        raise
                    return self._ledger.mark_failed(
                        record.id, "the claim's deadline passed and the coordinator could not be asked about it;"
                        " claim again (a late payout still reaches your wallet)")
            else:
                try:
                    status = self._client.submit_claim(record.typed_data, record.signature)
                except CoordinatorRejected as exc:
                    return self._ledger.mark_rejected(record.id, claim_words.refusal(exc.code, str(exc)))
            if status.claim_id.lower() != digest:
                return self._ledger.mark_failed(record.id, "the coordinator answered for another claim than the"
                                                " one signed")
            self._answers[record.id] = status  # the next step reads it instead of asking again
            return self._ledger.mark_submitted(record.id, digest, status.credits)
        if state is ClaimState.SUBMITTED:
            known = self._answers.pop(record.id, None)
            try:
                status = known if known is not None else self._client.claim(digest)
            except CoordinatorUnreachable:
                if not self._overdue(record):
                    raise
                return self._ledger.mark_failed(
                    record.id, f"the coordinator did not report a payout within {SETTLE_GRACE_S / 3600:g} h of"
                    " the claim's deadline and cannot be reached; claim again (a late payout still reaches your"
                    " wallet)")
            moved = self._apply(record, status, digest)
            if moved.state is ClaimState.SUBMITTED and self._overdue(record):
                return self._ledger.mark_failed(
                    record.id, f"the coordinator accepted the claim but did not pay it within"
                    f" {SETTLE_GRACE_S / 3600:g} h of its deadline; claim again (a late payout still reaches"
                    " your wallet)")
            return moved
        if state is ClaimState.PAID:
            return self._check_payout(record, digest)
        return record

    def _pinned(self, record: ClaimRecord) -> PinnedNetwork:
        """The installation's pinned network of the chain the claim was signed for, if it pays in that token."""
        pinned = self._networks.require(record.chain_id)
        if str(pinned.token).lower() != record.token.lower():
            raise NotPinned(f"the claim was made for token {record.token}, but FAR on chain {pinned.chain_id} is"
                            f" {pinned.token} (pinned by this installation); its payout is not FAR")
        return pinned

    def _check_payout(self, record: ClaimRecord, digest: str) -> ClaimRecord:
        try:
            pinned = self._pinned(record)
        except NotPinned as exc:
            return self._ledger.mark_failed(record.id, f"not confirmed: {exc}")
        try:
            proof = self._chain.confirm_payout(record.tx_hash, str(pinned.token), digest, record.wallet,
                                               record.net_amount, pinned.payout_contract)
        except PayoutPending:
            if not self._overdue(record):
                return record
            try:  # one last word from the coordinator before giving up
                status = self._client.claim(digest)
                said = f"; the coordinator now says {status.state}" + (f": {status.reason}" if status.reason else "")
            except FarNodeError as exc:
                said = f"; the coordinator could not be asked ({exc})"
            return self._ledger.mark_failed(
                record.id, f"the payout transaction {record.tx_hash} never appeared on chain within"
                f" {SETTLE_GRACE_S / 3600:g} h of the claim's deadline{said}")
        except PayoutMismatch as exc:
            return self._ledger.mark_failed(record.id, str(exc))
        payout = PayoutRecord(record.id, proof.tx_hash, proof.block_number, proof.token, proof.recipient,
                              proof.value, self._clock.wall(), proof.receipt)
        try:
            return self._ledger.mark_confirmed(record.id, payout)
        except PayoutAlreadyUsed as exc:
            return self._ledger.mark_failed(record.id, str(exc))

    def _apply(self, record: ClaimRecord, status: ClaimStatus, digest: str) -> ClaimRecord:
        if (status.claim_id.lower() != digest or status.amount != record.amount or status.fee != record.fee
                or status.wallet.lower() != record.wallet.lower() or status.nonce != record.nonce):
            return self._ledger.mark_failed(
                record.id, "the coordinator reports a different claim, amount, fee, nonce or wallet than was"
                " signed")
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
