"""The ledger's records (claims, payouts, served work) and how they are read back from its rows, every field checked:
a damaged row (a value of the wrong kind, text that is not JSON, an unknown state) is named and left out of a read
instead of crashing it, and a claim stored twice is read once."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from farnode_desktop.core.checked_files import loads_bounded, shown


class ClaimState(StrEnum):
    PREPARED = "prepared"
    SIGNED = "signed"
    SUBMITTED = "submitted"
    PAID = "paid"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    FAILED = "failed"


FINAL_STATES = frozenset({ClaimState.CONFIRMED, ClaimState.REJECTED, ClaimState.FAILED})
NEXT_STATES: dict[ClaimState, frozenset[ClaimState]] = {
    ClaimState.PREPARED: frozenset({ClaimState.SIGNED, ClaimState.REJECTED, ClaimState.FAILED}),
    ClaimState.SIGNED: frozenset({ClaimState.SUBMITTED, ClaimState.REJECTED, ClaimState.FAILED}),
    ClaimState.SUBMITTED: frozenset({ClaimState.PAID, ClaimState.REJECTED, ClaimState.FAILED}),
    ClaimState.PAID: frozenset({ClaimState.CONFIRMED, ClaimState.FAILED}),
}

@dataclass(frozen=True)
class ServedWork:
    id: int
    node: str
    peer_id: str
    period_start: float
    period_end: float
    tokens: int
    blocks: int


@dataclass(frozen=True)
class ClaimRecord:
    """One payout claim as this machine knows it."""

    id: str
    wallet: str
    coordinator_url: str
    chain_id: int
    token: str
    amount: int
    fee: int
    nonce: int
    deadline: int
    typed_data: dict[str, Any]
    signature: str
    state: ClaimState
    reason: str
    claim_id: str
    tx_hash: str
    created_at: float
    updated_at: float

    @property
    def net_amount(self) -> int:
        return self.amount - self.fee

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class PayoutRecord:
    claim: str
    tx_hash: str
    block_number: int
    token: str
    recipient: str
    value: int
    confirmed_at: float
    receipt: dict[str, Any]


class DamagedRow(ValueError):
    """A ledger row whose fields are not of the kind the ledger writes."""


def _text(r: sqlite3.Row, name: str, empty: bool = False) -> str:
    value = r[name]
    if value is None and empty:
        return ""
    if not isinstance(value, str):
        raise DamagedRow(f"{name} is {shown(value)}, not text")
    return value


def _whole(r: sqlite3.Row, name: str, stored_as_text: bool = False) -> int:
    value = r[name]
    if stored_as_text:  # amounts are kept as decimal text (they do not fit SQLite's integers)
        if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 78:
            raise DamagedRow(f"{name} is {shown(value)}, not a whole number")
        return int(value)
    if type(value) is not int:
        raise DamagedRow(f"{name} is {shown(value)}, not a whole number")
    return value


def _time(r: sqlite3.Row, name: str) -> float:
    value = r[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DamagedRow(f"{name} is {shown(value)}, not a time")
    return float(value)


def _json_object(r: sqlite3.Row, name: str) -> dict[str, Any]:
    try:
        value = loads_bounded(_text(r, name))
    except (ValueError, RecursionError):
        raise DamagedRow(f"{name} is not readable JSON") from None
    if not isinstance(value, dict):
        raise DamagedRow(f"{name} is not a JSON object")
    return value


def claim_from_row(r: sqlite3.Row) -> ClaimRecord:
    """The claim in row `r`; DamagedRow names the first field that is not what the ledger writes."""
    try:
        state = ClaimState(r["state"])
    except ValueError:
        raise DamagedRow(f"state is {shown(r['state'])}, not a claim state") from None
    return ClaimRecord(
        id=_text(r, "id"), wallet=_text(r, "wallet"), coordinator_url=_text(r, "coordinator_url"),
        chain_id=_whole(r, "chain_id"), token=_text(r, "token"), amount=_whole(r, "amount", True),
        fee=_whole(r, "fee", True), nonce=_whole(r, "nonce"), deadline=_whole(r, "deadline"),
        typed_data=_json_object(r, "typed_data"), signature=_text(r, "signature", True), state=state,
        reason=_text(r, "reason", True), claim_id=_text(r, "claim_id", True), tx_hash=_text(r, "tx_hash", True),
        created_at=_time(r, "created_at"), updated_at=_time(r, "updated_at"),
    )


def read_claims(rows: Iterable[sqlite3.Row]) -> tuple[list[ClaimRecord], list[str]]:
    """Every readable claim in `rows` once (of a claim stored twice, the latest update), and a sentence for each
    damaged row left out."""
    kept: dict[str, ClaimRecord] = {}
    problems: list[str] = []
    for r in rows:
        try:
            record = claim_from_row(r)
        except DamagedRow as exc:
            problems.append(f"claim {shown(r['id'])} is damaged in the ledger ({exc}); it was left out")
            continue
        earlier = kept.get(record.id)
        if earlier is not None:
            problems.append(f"claim {record.id} is stored twice in the ledger; its latest state is shown")
        if earlier is None or record.updated_at >= earlier.updated_at:
            kept[record.id] = record
    return sorted(kept.values(), key=lambda c: c.created_at), problems


def payout_from_row(r: sqlite3.Row) -> PayoutRecord:
    return PayoutRecord(_text(r, "claim"), _text(r, "tx_hash"), _whole(r, "block_number"), _text(r, "token"),
                        _text(r, "recipient"), _whole(r, "value", True), _time(r, "confirmed_at"),
                        _json_object(r, "receipt"))


def read_served_work(rows: Iterable[sqlite3.Row]) -> tuple[list[ServedWork], list[str]]:
    """The readable served-work periods in `rows`, and a sentence for each damaged one left out."""
    kept: list[ServedWork] = []
    problems: list[str] = []
    for r in rows:
        try:
            kept.append(ServedWork(_whole(r, "id"), _text(r, "node"), _text(r, "peer_id"), _time(r, "period_start"),
                                   _time(r, "period_end"), _whole(r, "tokens"), _whole(r, "blocks")))
        except DamagedRow as exc:
            problems.append(f"served-work row {shown(r['id'])} is damaged in the ledger ({exc}); it was left out")
    return kept, problems


def snapshot_body(raw: object) -> dict[str, Any] | None:
    """An earnings snapshot's JSON body, or None when it is damaged."""
    try:
        body = loads_bounded(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


