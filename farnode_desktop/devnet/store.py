"""The devnet coordinator's SQLite store and rules: node bindings, usage credits, nonces, claims. Every whole number
is range-checked before it is stored, and every transaction ends in COMMIT or ROLLBACK, so one failed request never
leaves the shared connection inside a transaction."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bindings (peer_id TEXT PRIMARY KEY, wallet TEXT NOT NULL, bound_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS nonces (wallet TEXT NOT NULL, nonce INTEGER NOT NULL, digest TEXT NOT NULL,
    PRIMARY KEY (wallet, nonce));
CREATE TABLE IF NOT EXISTS usage_reports (request_id TEXT PRIMARY KEY, model TEXT NOT NULL,
    received_at REAL NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS credits (credit_id TEXT PRIMARY KEY, request_id TEXT NOT NULL,
    peer_id TEXT NOT NULL,
    start_block INTEGER NOT NULL, end_block INTEGER NOT NULL, tokens INTEGER NOT NULL, amount TEXT NOT NULL,
    credited_at REAL NOT NULL, settles_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS claims (claim_id TEXT PRIMARY KEY, wallet TEXT NOT NULL, amount TEXT NOT NULL,
    fee TEXT NOT NULL, nonce INTEGER NOT NULL, deadline INTEGER NOT NULL, state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', tx_hash TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS claim_credits (claim_id TEXT NOT NULL, credit_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (claim_id, credit_id));
"""


MAX_STORED_INT = 2**53 - 1  # fits SQLite's 64-bit INTEGER and a JSON number the app reads back exactly


class ApiError(Exception):
    """A refusal the API returns as {"error": {"code", "message"}} with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Rules:
    """The coordinator's economics: what a block x token earns, the minimum claim and the fee (wei)."""

    rate_per_block_token: int = 10**12
    min_claim: int = 10**15
    fee: int = 10**13
    settle_seconds: int = 0
    claim_deadline_seconds: int = 3600


@dataclass(frozen=True)
class Span:
    peer_id: str
    start_block: int
    end_block: int
    tokens: int


class CoordinatorStore:
    """All coordinator state, behind one lock (claims must not race each other for the same credits)."""

    def __init__(self, path: Path | str, rules: Rules, clock: Callable[[], float] = time.time) -> None:
        self.rules = rules
        self._now = clock
        self.lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def _q(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return list(self._db.execute(sql, args).fetchall())

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction under the lock: COMMIT when the block ends, ROLLBACK on any error (then re-raised)."""
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    # -- nonces and bindings --------------------------------------------------------------------------
    def next_nonce(self, wallet: str) -> int:
        rows = self._q("SELECT MAX(nonce) AS n FROM nonces WHERE wallet=?", (wallet,))
        return 0 if rows[0]["n"] is None else int(rows[0]["n"]) + 1

    def use_nonce(self, wallet: str, nonce: int, digest: str) -> None:
        _stored_int("nonce", nonce)
        with self.lock:
            row = self._db.execute(
                "SELECT digest FROM nonces WHERE wallet=? AND nonce=?", (wallet, nonce)
            ).fetchone()
            if row is not None:
                raise ApiError(409, "nonce_used", f"nonce {nonce} was already used by this wallet (replay)")
            self._db.execute("INSERT INTO nonces VALUES (?,?,?)", (wallet, nonce, digest))

    def bind(self, peer_id: str, wallet: str) -> dict[str, Any]:
        now = self._now()
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO bindings VALUES (?,?,?)", (peer_id, wallet, now))
        return {"peer_id": peer_id, "wallet": wallet, "bound_at": now}

    def peers_of(self, wallet: str) -> dict[str, float]:
        rows = self._q("SELECT peer_id, bound_at FROM bindings WHERE wallet=?", (wallet,))
        return {r["peer_id"]: r["bound_at"] for r in rows}

    # -- usage from the gateway -----------------------------------------------------------------------
    def record_usage(self, request_id: str, model: str, spans: list[Span]) -> dict[str, Any]:
        """Credit each span: (end_block - start_block) x tokens x rate. A repeated request_id credits once."""
        now = self._now()
        for s in spans:
            for name in ("start_block", "end_block", "tokens"):
                _stored_int(name, getattr(s, name))
        with self._transaction():
            if self._db.execute("SELECT 1 FROM usage_reports WHERE request_id=?", (request_id,)).fetchone():
                return {"request_id": request_id, "duplicate": True, "credits": self._credits_of(request_id)}
            self._db.execute(
                "INSERT INTO usage_reports VALUES (?,?,?,?)",
                (request_id, model, now, json.dumps([s.__dict__ for s in spans])),
            )
            for i, s in enumerate(spans):
                amount = (s.end_block - s.start_block) * s.tokens * self.rules.rate_per_block_token
                self._db.execute(
                    "INSERT INTO credits VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        f"{request_id}:{i}",
                        request_id,
                        s.peer_id,
                        s.start_block,
                        s.end_block,
                        s.tokens,
                        str(amount),
                        now,
                        now + self.rules.settle_seconds,
                    ),
                )
            return {"request_id": request_id, "duplicate": False, "credits": self._credits_of(request_id)}

    def _credits_of(self, request_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT c.credit_id, c.peer_id, c.amount, b.wallet FROM credits c LEFT JOIN bindings b"
            " ON b.peer_id = c.peer_id WHERE c.request_id=? ORDER BY c.credit_id",
            (request_id,),
        ).fetchall()
        return [
            {
                "credit_id": r["credit_id"],
                "peer_id": r["peer_id"],
                "amount": r["amount"],
                "wallet": r["wallet"],
            }
            for r in rows
        ]

    # -- earnings -------------------------------------------------------------------------------------
    def _wallet_credits(self, wallet: str) -> list[sqlite3.Row]:
        return self._q(
            "SELECT c.*, (SELECT COALESCE(group_concat(cc.amount), '') FROM claim_credits cc JOIN claims k"
            " ON k.claim_id = cc.claim_id WHERE cc.credit_id = c.credit_id AND k.state != 'failed') AS used"
            " FROM credits c JOIN bindings b ON b.peer_id = c.peer_id WHERE b.wallet=?"
            " ORDER BY c.credited_at,"
            " c.credit_id",
            (wallet,),
        )

    @staticmethod
    def _remaining(row: sqlite3.Row) -> int:
        used = sum(int(x) for x in str(row["used"]).split(",") if x)
        return int(row["amount"]) - used

    def claimable(self, wallet: str) -> int:
        now = self._now()
        return sum(self._remaining(r) for r in self._wallet_credits(wallet) if r["settles_at"] <= now)

    def earnings(self, wallet: str, days: int) -> dict[str, Any]:
        now = self._now()
        credits = self._wallet_credits(wallet)
        claims = self._q("SELECT state, amount FROM claims WHERE wallet=?", (wallet,))
        settled = [r for r in credits if r["settles_at"] <= now]
        nodes = []
        for peer, bound_at in sorted(self.peers_of(wallet).items()):
            mine = [r for r in credits if r["peer_id"] == peer]
            nodes.append(
                {
                    "peer_id": peer,
                    "bound_at": bound_at,
                    "served_tokens": sum(r["tokens"] for r in mine),
                    "requests": len({r["request_id"] for r in mine}),
                    "estimated": str(sum(int(r["amount"]) for r in mine if r["settles_at"] > now)),
                    "confirmed": str(sum(int(r["amount"]) for r in mine if r["settles_at"] <= now)),
                }
            )
        history: dict[str, dict[str, Any]] = {}
        for r in credits:
            if r["credited_at"] < now - days * 86400:
                continue
            day = time.strftime("%Y-%m-%d", time.gmtime(r["credited_at"]))
            h = history.setdefault(day, {"day": day, "earned": 0, "served_tokens": 0, "requests": set()})
            h["earned"] += int(r["amount"])
            h["served_tokens"] += r["tokens"]
            h["requests"].add(r["request_id"])
        return {
            "wallet": wallet,
            "symbol": "FAR",
            "decimals": 18,
            "estimated": str(sum(int(r["amount"]) for r in credits if r["settles_at"] > now)),
            "confirmed": str(sum(int(r["amount"]) for r in settled)),
            "claimable": str(sum(self._remaining(r) for r in settled)),
            "pending": str(sum(int(c["amount"]) for c in claims if c["state"] == "accepted")),
            "paid": str(sum(int(c["amount"]) for c in claims if c["state"] == "paid")),
            "min_claim": str(self.rules.min_claim),
            "fee": str(self.rules.fee),
            "next_nonce": self.next_nonce(wallet),
            "as_of": now,
            "nodes": nodes,
            "history": [
                {**h, "earned": str(h["earned"]), "requests": len(h["requests"])}
                for _, h in sorted(history.items())
            ],
        }

    # -- claims ---------------------------------------------------------------------------------------
    def claim(self, claim_id: str) -> dict[str, Any] | None:
        rows = self._q("SELECT * FROM claims WHERE claim_id=?", (claim_id,))
        if not rows:
            return None
        c = rows[0]
        credits = self._q(
            "SELECT c.credit_id, c.request_id, c.peer_id, c.start_block, c.end_block, c.tokens,"
            " c.credited_at, cc.amount FROM claim_credits cc JOIN credits c ON c.credit_id = cc.credit_id"
            " WHERE cc.claim_id=?"
            " ORDER BY c.credited_at, c.credit_id",
            (claim_id,),
        )
        return {
            "claim_id": c["claim_id"],
            "wallet": c["wallet"],
            "amount": c["amount"],
            "fee": c["fee"],
            "net_amount": str(int(c["amount"]) - int(c["fee"])),
            "nonce": c["nonce"],
            "deadline": c["deadline"],
            "state": c["state"],
            "reason": c["reason"] or None,
            "tx_hash": c["tx_hash"],
            "created_at": c["created_at"],
            "credits": [dict(r) for r in credits],
        }

    def claims_of(self, wallet: str) -> list[dict[str, Any]]:
        rows = self._q("SELECT claim_id FROM claims WHERE wallet=? ORDER BY created_at", (wallet,))
        return [c for r in rows if (c := self.claim(r["claim_id"])) is not None]

    def accept_claim(self, claim_id: str, wallet: str, amount: int, nonce: int, deadline: int) -> None:
        """Check the claim's economics, use its nonce and reserve credits (oldest first) to cover it."""
        rules = self.rules
        _stored_int("nonce", nonce)
        _stored_int("deadline", deadline)
        with self.lock:
            if deadline < self._now():
                raise ApiError(400, "expired", "the claim's deadline has passed; sign a new claim")
            claimable = self.claimable(wallet)
            if amount < rules.min_claim:
                raise ApiError(400, "below_min_claim", f"the minimum claim is {rules.min_claim} wei")
            if amount > claimable:
                raise ApiError(
                    400, "above_claimable", f"the amount {amount} is above the claimable {claimable} wei"
                )
            with self._transaction():
                self.use_nonce(wallet, nonce, claim_id)
                self._db.execute(
                    "INSERT INTO claims (claim_id, wallet, amount, fee, nonce, deadline, state, created_at)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (claim_id, wallet, str(amount), str(rules.fee), nonce, deadline, "accepted", self._now()),
                )
                left = amount
                now = self._now()
                for r in self._wallet_credits(wallet):
                    if left <= 0 or r["settles_at"] > now:
                        continue
                    take = min(self._remaining(r), left)
                    if take > 0:
                        self._db.execute(
                            "INSERT INTO claim_credits VALUES (?,?,?)", (claim_id, r["credit_id"], str(take))
                        )
                        left -= take

    def finish_claim(self, claim_id: str, tx_hash: str | None, reason: str = "") -> None:
        state = "paid" if tx_hash else "failed"
        with self.lock:
            self._db.execute(
                "UPDATE claims SET state=?, tx_hash=?, reason=? WHERE claim_id=?",
                (state, tx_hash, reason, claim_id),
            )


def _stored_int(name: str, value: int) -> None:
    """A whole number the store keeps in an INTEGER column: out of range is the caller's error, not SQLite's."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STORED_INT:
        raise ApiError(400, "bad_request", f"'{name}' must be a whole number from 0 to {MAX_STORED_INT}")
