"""The local ledger (SQLite): served work, earnings snapshots, claims and payouts, kept across restarts. A damaged
file is a plain LedgerError (and is never written over); a damaged row is left out of a read and named in
`problems` (core/earnings/ledger_records.py)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from farnode_desktop.core.checked_files import set_aside
from farnode_desktop.core.clock import Clock, SystemClock
from farnode_desktop.core.earnings.coordinator_models import ClaimCredit, Earnings, safe_text
from farnode_desktop.core.earnings.ledger_records import (
    FINAL_STATES,
    NEXT_STATES,
    ClaimRecord,
    ClaimState,
    DamagedRow,
    PayoutRecord,
    ServedWork,
    payout_from_row,
    read_claims,
    read_served_work,
    snapshot_body,
)
from farnode_desktop.core.errors import FarNodeError

__all__ = ["FINAL_STATES", "ClaimRecord", "ClaimState", "Ledger", "LedgerError", "PayoutAlreadyUsed", "PayoutRecord",
           "ServedWork"]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS served_work (
    id INTEGER PRIMARY KEY, node TEXT NOT NULL, peer_id TEXT NOT NULL, period_start REAL NOT NULL,
    period_end REAL NOT NULL, tokens INTEGER NOT NULL, blocks INTEGER NOT NULL, recorded_at REAL NOT NULL,
    UNIQUE (node, peer_id, period_start));
CREATE INDEX IF NOT EXISTS served_work_end ON served_work (period_end);
CREATE TABLE IF NOT EXISTS earnings_snapshots (
    id INTEGER PRIMARY KEY, wallet TEXT NOT NULL, taken_at REAL NOT NULL, estimated TEXT NOT NULL,
    confirmed TEXT NOT NULL, claimable TEXT NOT NULL, pending TEXT NOT NULL, paid TEXT NOT NULL,
    body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims (
    id TEXT PRIMARY KEY, wallet TEXT NOT NULL, coordinator_url TEXT NOT NULL, chain_id INTEGER NOT NULL,
    token TEXT NOT NULL, amount TEXT NOT NULL, fee TEXT NOT NULL, nonce INTEGER NOT NULL,
    deadline INTEGER NOT NULL, typed_data TEXT NOT NULL, signature TEXT, state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', claim_id TEXT, tx_hash TEXT, created_at REAL NOT NULL,
    updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS claim_events (
    id INTEGER PRIMARY KEY, claim TEXT NOT NULL REFERENCES claims(id), state TEXT NOT NULL,
    reason TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS claim_credits (
    claim TEXT NOT NULL REFERENCES claims(id), credit_id TEXT NOT NULL, request_id TEXT NOT NULL,
    peer_id TEXT NOT NULL, start_block INTEGER NOT NULL, end_block INTEGER NOT NULL,
    tokens INTEGER NOT NULL, amount TEXT NOT NULL, credited_at REAL NOT NULL,
    served_work_id INTEGER REFERENCES served_work(id), PRIMARY KEY (claim, credit_id));
CREATE TABLE IF NOT EXISTS payouts (
    claim TEXT PRIMARY KEY REFERENCES claims(id), tx_hash TEXT NOT NULL, block_number INTEGER NOT NULL,
    token TEXT NOT NULL, recipient TEXT NOT NULL, value TEXT NOT NULL, confirmed_at REAL NOT NULL,
    receipt TEXT NOT NULL);
"""
# One transaction confirms one claim. A ledger written before this rule may already hold a shared hash: then
# the index cannot be made, and the check in `mark_confirmed` still refuses any new one.
_PAYOUT_TX_UNIQUE = "CREATE UNIQUE INDEX IF NOT EXISTS payouts_tx_hash ON payouts (lower(tx_hash))"
REASON_LIMIT = 500


def _storage_fault(path: Path, exc: sqlite3.OperationalError) -> LedgerError:
    """A plain sentence for SQLite's storage errors; nothing half-written stays in the ledger."""
    text = str(exc)
    if "full" in text:
        return LedgerError(f"the ledger {path} could not be written: the disk is full ({text})",
                           hint="free some disk space; what the ledger held before is kept")
    if "locked" in text or "busy" in text:
        return LedgerError(f"the ledger {path} is locked by another program ({text})",
                           hint="close other FarNode windows or commands, then try again")
    return LedgerError(f"the ledger {path} could not be written ({text})",
                       hint="check the disk; what the ledger held before is kept")


_DAMAGED_HINT = ("move the damaged file aside (FarNode then starts a new one); earnings and claims are also kept by the"
                 " coordinator, and payouts on chain")


class LedgerError(FarNodeError):
    """The ledger cannot do what was asked (an impossible claim step, a damaged file)."""


class PayoutAlreadyUsed(LedgerError):
    """A payout transaction that already confirmed another claim."""


class Ledger:
    """Thread-safe SQLite ledger at `path` (AppPaths.ledger_file), readable only by the provider."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self.path = path
        self._clock: Clock = clock or SystemClock()
        self.problems: list[str] = []  # the damaged rows the last read left out, in plain words
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            if not path.is_file():
                raise LedgerError(f"the ledger {path} is not a file", hint="move what is there aside, then retry")
        except OSError as exc:
            raise LedgerError(f"the ledger {path} cannot be opened ({exc.strerror or exc})",
                              hint="check that FarNode's data folder is a folder you can write to") from None
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise LedgerError(f"the ledger {path} cannot be opened ({exc})", hint=_DAMAGED_HINT) from None
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
            with contextlib.suppress(sqlite3.IntegrityError):
                self._db.execute(_PAYOUT_TX_UNIQUE)
        except sqlite3.Error as exc:
            self._db.close()
            raise LedgerError(f"the ledger {path} cannot be opened ({exc})", hint=_DAMAGED_HINT) from None

    @classmethod
    def open_or_set_aside(cls, path: Path, clock: Clock | None = None) -> tuple[Ledger, str]:
        """The ledger at `path`; one that cannot be opened (damaged) is moved aside next to it, kept whole, and a new
        one started, with a sentence saying so ("" when nothing was moved). A ledger that cannot be moved stays an
        error: nothing is ever deleted."""
        try:
            return cls(path, clock), ""
        except LedgerError as exc:
            if not path.is_file():
                raise
            aside = set_aside(path)
            if aside is None:
                raise
            for suffix in ("-wal", "-shm", "-journal"):  # its journal belongs with it
                part = path.with_name(path.name + suffix)
                if part.exists():
                    with contextlib.suppress(OSError):
                        part.replace(aside.with_name(aside.name + suffix))
            note = (f"the ledger could not be read ({exc}); it was kept as {aside} and a new ledger was started."
                    " Earnings and claims are also kept by the coordinator, payouts on chain")
            return cls(path, clock), note

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. A storage fault (disk full, I/O error, locked file) is raised as a LedgerError
        that names the real cause; SQLite may already have rolled back, so a failed ROLLBACK never hides it."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            self._db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                raise _storage_fault(self.path, exc) from exc

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """A read; a damaged file (truncated, overwritten) is a LedgerError, and nothing is written to it."""
        with self._lock:
            try:
                return list(self._db.execute(sql, args).fetchall())
            except sqlite3.DatabaseError as exc:
                raise LedgerError(f"the ledger {self.path} is damaged and cannot be read ({exc})",
                                  hint=_DAMAGED_HINT) from None

    # -- served work ----------------------------------------------------------------------------------
    def record_served_work(
        self, node: str, peer_id: str, *, period_start: float, period_end: float, tokens: int, blocks: int
    ) -> int:
        """Record what a node served in a period (from its served_tokens counter); re-recording the same
        period updates it, so a counter sampled repeatedly never counts twice."""
        if tokens < 0 or blocks < 0 or period_end < period_start:
            raise LedgerError("served work needs tokens, blocks >= 0 and a period that ends after it began")
        with self._tx() as db:
            db.execute(
                "INSERT INTO served_work (node, peer_id, period_start, period_end, tokens, blocks,"
                " recorded_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (node, peer_id, period_start) DO UPDATE SET"
                " period_end=excluded.period_end, tokens=excluded.tokens, blocks=excluded.blocks,"
                " recorded_at=excluded.recorded_at",
                (node, peer_id, period_start, period_end, tokens, blocks, self._clock.wall()),
            )
            row = db.execute(
                "SELECT id FROM served_work WHERE node=? AND peer_id=? AND period_start=?",
                (node, peer_id, period_start),
            ).fetchone()
        return int(row["id"])

    def served_work(self, node: str | None = None, since: float | None = None) -> list[ServedWork]:
        """Served-work periods, oldest first: of one node or all, those that end after `since` when given."""
        clauses: list[str] = []
        args: list[Any] = []
        if node:
            clauses.append("node=?")
            args.append(node)
        if since is not None:
            clauses.append("period_end>?")
            args.append(since)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT * FROM served_work{where} ORDER BY period_start"  # noqa: S608
        work, self.problems = read_served_work(self._rows(sql, tuple(args)))
        return work

    # -- earnings -------------------------------------------------------------------------------------
    def record_earnings(self, earnings: Earnings) -> None:
        """Keep a snapshot of the coordinator's figures, shown when it cannot be reached."""
        body = earnings.as_json()
        with self._tx() as db:
            db.execute(
                "INSERT INTO earnings_snapshots (wallet, taken_at, estimated, confirmed, claimable, pending,"
                " paid, body) VALUES (?,?,?,?,?,?,?,?)",
                (earnings.wallet, self._clock.wall(), str(earnings.estimated), str(earnings.confirmed),
                 str(earnings.claimable), str(earnings.pending), str(earnings.paid), json.dumps(body)),
            )

    def latest_earnings(self, wallet: str) -> tuple[float, dict[str, Any]] | None:
        """The latest readable snapshot of `wallet`'s earnings (a damaged one is passed over)."""
        rows = self._rows(
            "SELECT taken_at, body FROM earnings_snapshots WHERE lower(wallet)=lower(?)"
            " ORDER BY id DESC LIMIT 50", (wallet,)
        )
        for row in rows:
            body = snapshot_body(row["body"])
            if body is not None and isinstance(row["taken_at"], int | float):
                return float(row["taken_at"]), body
        return None

    # -- claims ---------------------------------------------------------------------------------------
    def prepare_claim(self, *, coordinator_url: str, token: str, typed_data: dict[str, Any]) -> ClaimRecord:
        msg = typed_data["message"]
        now = self._clock.wall()
        claim = str(uuid.uuid4())
        with self._tx() as db:
            db.execute(
                "INSERT INTO claims (id, wallet, coordinator_url, chain_id, token, amount, fee, nonce,"
                " deadline, typed_data, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (claim, msg["wallet"], coordinator_url, int(typed_data["domain"]["chainId"]), token,
                 str(msg["amount"]), str(msg["fee"]), int(msg["nonce"]), int(msg["deadline"]),
                 json.dumps(typed_data), ClaimState.PREPARED.value, now, now),
            )
            db.execute("INSERT INTO claim_events (claim, state, reason, at) VALUES (?,?,?,?)",
                       (claim, ClaimState.PREPARED.value, "claim prepared", now))
        return self.claim(claim)

    def _move(self, claim: str, to: ClaimState, reason: str, *,
              also: Callable[[sqlite3.Connection], None] | None = None, **fields: Any) -> ClaimRecord:
        """Move a claim to its next state (and run `also` in the same transaction); reasons are kept short
        and escaped, since many come from the network."""
        now = self._clock.wall()
        reason = safe_text(reason, REASON_LIMIT)
        with self._tx() as db:
            row = db.execute("SELECT state FROM claims WHERE id=?", (claim,)).fetchone()
            if row is None:
                raise LedgerError(f"there is no claim {claim} in the ledger")
            current = ClaimState(row["state"])
            if to not in NEXT_STATES.get(current, frozenset()):
                raise LedgerError(f"claim {claim} cannot go from {current} to {to}")
            if also is not None:
                also(db)
            sets = ", ".join(f"{k}=?" for k in fields)
            db.execute(
                f"UPDATE claims SET state=?, reason=?, updated_at=?{', ' + sets if sets else ''} WHERE id=?",  # noqa: S608
                (to.value, reason, now, *fields.values(), claim),
            )
            db.execute("INSERT INTO claim_events (claim, state, reason, at) VALUES (?,?,?,?)",
                       (claim, to.value, reason, now))
        return self.claim(claim)

    def mark_signed(self, claim: str, signature: str) -> ClaimRecord:
        return self._move(claim, ClaimState.SIGNED, "signed by the wallet", signature=signature)

    def mark_submitted(self, claim: str, claim_id: str, credits: tuple[ClaimCredit, ...]) -> ClaimRecord:
        record = self._move(claim, ClaimState.SUBMITTED, "accepted by the coordinator", claim_id=claim_id)
        self._store_credits(claim, credits)
        return record

    def _store_credits(self, claim: str, credits: tuple[ClaimCredit, ...]) -> None:
        """Keep the credits a claim covers, each linked to the local served work it came from."""
        with self._tx() as db:
            for c in credits:
                work = db.execute(
                    "SELECT id FROM served_work WHERE peer_id=? AND period_start<=? AND period_end>=?"
                    " ORDER BY period_start DESC LIMIT 1", (c.peer_id, c.credited_at + 5, c.credited_at - 5)
                ).fetchone()
                db.execute(
                    "INSERT OR IGNORE INTO claim_credits (claim, credit_id, request_id, peer_id, start_block,"
                    " end_block, tokens, amount, credited_at, served_work_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (claim, c.credit_id, c.request_id, c.peer_id, c.start_block, c.end_block, c.tokens,
                     str(c.amount), c.credited_at, work["id"] if work else None),
                )

    def mark_paid(self, claim: str, tx_hash: str) -> ClaimRecord:
        return self._move(claim, ClaimState.PAID, "the coordinator sent the payout", tx_hash=tx_hash)

    def mark_confirmed(self, claim: str, payout: PayoutRecord) -> ClaimRecord:
        """Record the payout and confirm the claim, in one transaction; a transaction hash that already
        confirmed another claim raises PayoutAlreadyUsed (one payout proves one claim)."""

        def store(db: sqlite3.Connection) -> None:
            other = db.execute("SELECT claim FROM payouts WHERE lower(tx_hash)=lower(?) AND claim!=?",
                               (payout.tx_hash, claim)).fetchone()
            if other is not None:
                raise PayoutAlreadyUsed(
                    f"the payout transaction {payout.tx_hash} already confirmed another claim"
                    f" ({other['claim'][:8]}); one transaction pays one claim",
                    hint="the coordinator reused an earlier payout; claim again or contact Far Labs support",
                )
            try:
                db.execute(
                    "INSERT OR REPLACE INTO payouts (claim, tx_hash, block_number, token, recipient, value,"
                    " confirmed_at, receipt) VALUES (?,?,?,?,?,?,?,?)",
                    (claim, payout.tx_hash, payout.block_number, payout.token, payout.recipient,
                     str(payout.value), payout.confirmed_at, json.dumps(payout.receipt)),
                )
            except sqlite3.IntegrityError:
                raise PayoutAlreadyUsed(f"the payout transaction {payout.tx_hash} already confirmed another"
                                        " claim; one transaction pays one claim") from None

        reason = f"payout confirmed on chain in block {payout.block_number}"
        return self._move(claim, ClaimState.CONFIRMED, reason, also=store)

    def mark_rejected(self, claim: str, reason: str) -> ClaimRecord:
        return self._move(claim, ClaimState.REJECTED, reason)

    def mark_failed(self, claim: str, reason: str) -> ClaimRecord:
        return self._move(claim, ClaimState.FAILED, reason)

    def claim(self, claim: str) -> ClaimRecord:
        found, problems = read_claims(self._rows("SELECT * FROM claims WHERE id=?", (claim,)))
        if not found:
            raise LedgerError(problems[0] if problems else f"there is no claim {claim} in the ledger",
                              hint=_DAMAGED_HINT if problems else "")
        return found[0]

    def claims(self, wallet: str | None = None) -> list[ClaimRecord]:
        where = " WHERE lower(wallet)=lower(?)" if wallet else ""
        sql = f"SELECT * FROM claims{where} ORDER BY created_at"  # noqa: S608
        found, self.problems = read_claims(self._rows(sql, (wallet,) if wallet else ()))
        return found

    def unfinished_claims(self, wallet: str | None = None) -> list[ClaimRecord]:
        return [c for c in self.claims(wallet) if not c.finished]

    def claim_events(self, claim: str) -> list[tuple[str, str, float]]:
        rows = self._rows("SELECT state, reason, at FROM claim_events WHERE claim=? ORDER BY id", (claim,))
        return [(r["state"], r["reason"], r["at"]) for r in rows]

    def claim_credits(self, claim: str) -> list[dict[str, Any]]:
        """The credits a claim paid for, each with the local served work (if recorded) it links to."""
        rows = self._rows(
            "SELECT c.*, w.node AS node, w.period_start AS work_start, w.period_end AS work_end,"
            " w.tokens AS work_tokens FROM claim_credits c LEFT JOIN served_work w ON w.id = c.served_work_id"
            " WHERE c.claim=? ORDER BY c.credited_at", (claim,)
        )
        return [dict(r) for r in rows]

    def payout(self, claim: str) -> PayoutRecord | None:
        rows = self._rows("SELECT * FROM payouts WHERE claim=?", (claim,))
        if not rows:
            return None
        try:
            return payout_from_row(rows[0])
        except DamagedRow as exc:
            raise LedgerError(f"the payout of claim {claim} is damaged in the ledger ({exc})",
                              hint=_DAMAGED_HINT) from None

