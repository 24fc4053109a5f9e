"""Wallet & earnings: the address, estimated/confirmed/claimable/paid, earnings per day, payouts with the
served work they paid for, and the claim flow (quote with threshold and fee -> confirm -> on-chain)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from farnode_desktop.core.earnings.claim_words import amounts_in_far
from farnode_desktop.core.earnings.claims import ClaimQuote, ClaimService
from farnode_desktop.core.earnings.coordinator_models import Earnings
from farnode_desktop.core.earnings.ledger import ClaimRecord, ClaimState
from farnode_desktop.core.events import Event
from farnode_desktop.core.node.facts import block_range
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.core_api import CoreApi
from farnode_desktop.ui.viewmodels.format import count, day_label, error_text, far, when
from farnode_desktop.ui.viewmodels.network_vm import PinnedView, pinned_view
from farnode_desktop.ui.viewmodels.wallet_setup_vm import WalletSetupViewModel

CLAIM_STEPS = (ClaimState.PREPARED, ClaimState.SIGNED, ClaimState.SUBMITTED, ClaimState.PAID, ClaimState.CONFIRMED)
STEP_TEXT = {
    ClaimState.PREPARED: "Prepared", ClaimState.SIGNED: "Signed by your wallet",
    ClaimState.SUBMITTED: "Accepted by the coordinator", ClaimState.PAID: "Payout sent",
    ClaimState.CONFIRMED: "Confirmed on chain", ClaimState.REJECTED: "Rejected", ClaimState.FAILED: "Failed",
}


@dataclass(frozen=True)
class WorkRow:
    """One piece of served work a payout covered (the coordinator's credit, linked to the local ledger)."""

    node: str
    blocks: str
    tokens: str
    amount: str
    when: str
    request_id: str


@dataclass(frozen=True)
class PayoutRow:
    claim_id: str
    when: str
    state: str
    amount: str  # what reached the wallet (net of the fee)
    fee: str
    tx_hash: str
    block: str
    reason: str
    work: tuple[WorkRow, ...]


@dataclass(frozen=True)
class WalletData:
    """Everything the window shows, read together on a worker."""

    address: str | None
    problem: str
    earnings: Earnings | None
    payouts: tuple[PayoutRow, ...]
    network: PinnedView | None = None  # the FAR token and payout contract this installation pins


def load_wallet_data(core: CoreApi) -> WalletData:
    """Keyring, coordinator and ledger reads (blocking: call on a worker)."""
    address = core.wallet_address()
    problem = core.wallet_problem() or ""
    network = pinned_view(core.networks(), core.settings.chain_id)
    if address is None:
        return WalletData(None, problem, None, (), network)
    earnings = core.earnings()
    decimals, symbol = (earnings.decimals, earnings.symbol) if earnings else (18, "FAR")
    rows = [payout_row(core, c, decimals, symbol) for c in reversed(core.ledger.claims(address))]
    return WalletData(address, problem, earnings, tuple(rows), network)


def payout_row(core: CoreApi, claim: ClaimRecord, decimals: int, symbol: str) -> PayoutRow:
    payout = core.ledger.payout(claim.id)
    work = tuple(
        WorkRow(node=str(c.get("node") or "—"), blocks=block_range(int(c["start_block"]), int(c["end_block"])),
                tokens=count(int(c["tokens"])), amount=far(int(c["amount"]), decimals, symbol),
                when=when(float(c["credited_at"])), request_id=str(c["request_id"]))
        for c in core.ledger.claim_credits(claim.id)
    )
    return PayoutRow(
        claim_id=claim.id, when=when(claim.created_at), state=STEP_TEXT.get(claim.state, claim.state.value),
        amount=far(claim.net_amount, decimals, symbol), fee=far(claim.fee, decimals, symbol),
        tx_hash=payout.tx_hash if payout else claim.tx_hash, block=str(payout.block_number) if payout else "—",
        reason=claim.reason, work=work,
    )


@dataclass(frozen=True)
class QuoteView:
    amount: str
    fee: str
    net: str
    minimum: str
    problem: str


def quote_view(quote: ClaimQuote) -> QuoteView:
    e = quote.earnings
    return QuoteView(far(quote.amount, e.decimals, e.symbol), far(quote.fee, e.decimals, e.symbol),
                     far(quote.net_amount, e.decimals, e.symbol), far(e.min_claim, e.decimals, e.symbol),
                     quote.problem)


class WalletViewModel(QObject):
    """The Wallet & earnings window's state. Every keyring, HTTP and chain call goes through the task runner."""

    changed = Signal()
    claim_changed = Signal()
    error = Signal(str)

    def __init__(self, core: CoreApi, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.data: WalletData | None = None
        self.loading = False
        self.quote: ClaimQuote | None = None
        self.claim_state: ClaimState | None = None
        self.claim_message = ""
        self.claim_tx = ""
        self.claiming = False
        self._service: ClaimService | None = None
        self.setup = WalletSetupViewModel(core, tasks, self)  # shown while there is no wallet yet
        self.setup.created.connect(lambda _address: self.refresh())

    # -- figures --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.loading = True
        self.tasks.submit(lambda: load_wallet_data(self.core), self._loaded, self._failed, key="wallet")

    def _loaded(self, data: object) -> None:
        assert isinstance(data, WalletData)
        self.data, self.loading = data, False
        e = data.earnings
        if self.quote is not None and not self.claiming and (e is None or e.claimable != self.quote.amount):
            # the review no longer matches the figures above it: it goes, and is asked for again
            self.quote = None
            self.claim_message = "The claimable amount changed; review the claim again."
            self.claim_changed.emit()
        self.changed.emit()

    def _failed(self, exc: BaseException) -> None:
        self.loading = False
        self.error.emit(error_text(exc))
        self.changed.emit()

    @property
    def address(self) -> str | None:
        return self.data.address if self.data else None

    def figures(self) -> list[tuple[str, str, str]]:
        """(title, amount, what it means) for estimated, confirmed, claimable, paid."""
        e = self.data.earnings if self.data else None
        if e is None:
            return [(t, "—", n) for t, n in _FIGURE_NOTES]
        values = (e.estimated, e.confirmed, e.claimable, e.paid)
        # the same decimals as the claim review below them: one amount is written one way
        return [(t, far(v, e.decimals, e.symbol), n) for (t, n), v in zip(_FIGURE_NOTES, values, strict=True)]

    def daily(self, days: int = 7, now: float | None = None) -> tuple[list[tuple[str, float]], str]:
        """The last `days` UTC days (the coordinator's), today last; a day without earnings shows as 0."""
        e = self.data.earnings if self.data else None
        if e is None:
            return [], "FAR"
        scale = 10**e.decimals
        earned = {d.day: d.earned for d in e.history}
        today = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC).date()
        keys = [(today - dt.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
        return [(day_label(k), earned.get(k, 0) / scale) for k in keys], e.symbol

    # -- the claim flow -------------------------------------------------------------------------------
    def request_quote(self) -> None:
        """Ask the coordinator what a claim would pay now (threshold and fee included)."""
        self.claim_message = "Asking the coordinator…"
        self.claim_changed.emit()

        def quote() -> tuple[ClaimService, ClaimQuote]:
            service = self.core.claims or self.core.claim_service()
            return service, service.quote()

        self.tasks.submit(quote, self._quoted, self._claim_failed, key="claim")

    def _quoted(self, value: object) -> None:
        assert isinstance(value, tuple)
        service, quote = value
        assert isinstance(service, ClaimService) and isinstance(quote, ClaimQuote)
        self._service, self.quote = service, quote
        self.claim_state = None
        self.claim_message = "" if quote.can_claim else quote.problem
        self.claim_changed.emit()

    def confirm_claim(self) -> None:
        """Ask the coordinator again; only if the fresh figures are the ones on screen, sign from the keyring,
        submit, and follow the payout until it is confirmed on chain. Otherwise show the fresh review instead."""
        if self.quote is None or self._service is None or not self.quote.can_claim:
            return
        service, shown = self._service, self.quote
        self.claiming = True
        self.claim_message = "Checking the figures, then signing with your wallet…"
        self.claim_changed.emit()

        def claim() -> ClaimRecord | ClaimQuote:
            fresh = service.quote()
            if not fresh.can_claim or _sent(fresh) != _sent(shown):
                return fresh  # nothing is signed: the provider reviews what would really be sent
            return service.follow(service.start(fresh), timeout_s=180.0)

        self.tasks.submit(claim, self._claimed, self._claim_failed, key="claim")

    def _claimed(self, value: object) -> None:
        if isinstance(value, ClaimQuote):
            self.claiming = False
            self.quote = value
            self.claim_message = (f"Nothing was claimed: {value.problem}" if value.problem else
                                  "The figures changed since your review; nothing was signed. Check the new "
                                  "amounts and confirm again.")
            self.claim_changed.emit()
            self.refresh()
            return
        self._claim_done(value)

    def on_event(self, event: Event) -> None:
        """claim.* events arrive while the claim moves on (through the bridge, on the GUI thread)."""
        if not event.topic.startswith("claim."):
            return
        try:
            state = ClaimState(str(event.data.get("state")))
        except ValueError:
            return
        self.claim_state = state
        self.claim_tx = str(event.data.get("tx_hash") or "")
        self.claim_message = f"{STEP_TEXT[state]}: {amounts_in_far(event.reason)}"
        self.claim_changed.emit()

    def _claim_done(self, record: object) -> None:
        assert isinstance(record, ClaimRecord)
        self.claiming = False
        self.quote = None
        self.claim_state = record.state
        self.claim_tx = record.tx_hash
        self.claim_message = (f"{STEP_TEXT[record.state]}: {amounts_in_far(record.reason)}" if record.finished else
                              "Still waiting for the payout; FarNode keeps following it and resumes after a restart")
        self.claim_changed.emit()
        self.refresh()

    def _claim_failed(self, exc: BaseException) -> None:
        self.claiming = False
        self.claim_message = amounts_in_far(error_text(exc))  # a wei figure reads as FAR
        self.claim_changed.emit()

    def step_index(self) -> int:
        """How far along the claim is (0..5), for the progress row."""
        if self.claim_state in CLAIM_STEPS:
            return CLAIM_STEPS.index(self.claim_state) + 1
        return 0


def _sent(quote: ClaimQuote) -> tuple[int, int, int]:
    """What a claim would send: the amount, the fee and what reaches the wallet."""
    return quote.amount, quote.fee, quote.net_amount


_FIGURE_NOTES = (
    ("Estimated", "served, still settling"),
    ("Confirmed", "settled by the coordinator"),
    ("Claimable", "yours to claim now"),
    ("Paid", "sent to your wallet on chain"),
)

