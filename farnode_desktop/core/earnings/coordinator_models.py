"""The coordinator's replies as typed records, each parsed strictly so a malformed reply names its field."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from farnode_desktop.core.checked_files import loads_bounded
from farnode_desktop.core.errors import FarNodeError

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SYMBOL = re.compile(r"[A-Za-z0-9]{1,12}")
_PEER_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")  # libp2p peer ids are base58 / base32 text
CLAIM_STATES = ("accepted", "paid", "failed")
MAX_DEADLINE_S = 86400  # a signature FarNode makes is valid for at most a day
MAX_WEI = 2**256 - 1
MAX_INT = 2**53 - 1  # every count, nonce and id from outside fits a JSON-safe integer (and SQLite)
MAX_TIME = 2.0**40  # seconds since 1970: far past any real timestamp, far below an overflow
MAX_TEXT = 256
MAX_ITEMS = 100_000


def safe_text(text: str, limit: int = 300) -> str:
    """Text from the network made safe for a terminal, a log or the ledger: control and format characters
    (escape sequences, bidi overrides, newlines) escaped, and cut to `limit` characters with a note."""
    clean = "".join(_escape(ch) if unicodedata.category(ch)[0] == "C" else ch for ch in text[:limit])
    if len(text) > limit:
        clean += f"... ({len(text) - limit} more characters)"
    return clean


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(raw: bytes) -> Any:
    """Strict JSON from the network: UTF-8, no NaN/Infinity, no deep nesting (the C parser would overflow
    its stack on 100,000 nested brackets and crash the app); ValueError otherwise."""
    try:
        return loads_bounded(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


class CoordinatorBadResponse(FarNodeError):
    """The coordinator answered, but not with what its API promises."""


def _bad(where: str, field: str, expected: str) -> CoordinatorBadResponse:
    return CoordinatorBadResponse(
        f"the coordinator's {where} reply has a bad or missing '{field}' (expected {expected})",
        hint="the coordinator may be a different version or misbehaving; try again later or report it",
    )


class _Reader:
    """Reads typed fields from one JSON object, naming the field when one is wrong."""

    def __init__(self, raw: object, where: str, prefix: str = "") -> None:
        if not isinstance(raw, dict):
            raise _bad(where, prefix.rstrip(".") or "(body)", "a JSON object")
        self.raw: dict[str, Any] = raw
        self.where = where
        self.prefix = prefix

    def _get(self, name: str, expected: str, optional: bool = False) -> Any:
        if name not in self.raw or (self.raw[name] is None and not optional):
            if optional:
                return None
            raise _bad(self.where, self.prefix + name, expected)
        return self.raw[name]

    def wei(self, name: str) -> int:
        """Token amounts travel as decimal strings (they do not fit a JSON number); at most a uint256."""
        expected = "a whole number of wei as a decimal string, at most 2^256-1"
        value = self._get(name, expected)
        if (not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 78
                or int(value) > MAX_WEI):
            raise _bad(self.where, self.prefix + name, expected)
        return int(value)

    def integer(self, name: str, minimum: int = 0, maximum: int = MAX_INT) -> int:
        value = self._get(name, "a whole number")
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise _bad(self.where, self.prefix + name, f"a whole number from {minimum} to {maximum}")
        return value

    def number(self, name: str, maximum: float = MAX_TIME) -> float:
        value = self._get(name, "a number")
        if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
                or not 0 <= value <= maximum):
            raise _bad(self.where, self.prefix + name, f"a number from 0 to {maximum:g}")
        return float(value)

    def text(self, name: str, pattern: re.Pattern[str] | None = None, optional: bool = False,
             limit: int = MAX_TEXT) -> str:
        value = self._get(name, "text", optional)
        if value is None and optional:
            return ""
        if (not isinstance(value, str) or not value or len(value) > limit
                or (pattern is not None and not pattern.fullmatch(value))):
            like = f" like {pattern.pattern}" if pattern else f" of at most {limit} characters"
            raise _bad(self.where, self.prefix + name, f"text{like}")
        return value if pattern is not None else safe_text(value, limit)

    def reason(self, name: str) -> str:
        """Free text the coordinator explains itself with: any length accepted, kept short and escaped."""
        value = self._get(name, "text", optional=True)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise _bad(self.where, self.prefix + name, "text")
        return safe_text(value, 300)

    def address(self, name: str) -> str:
        return self.text(name, _ADDRESS)

    def items(self, name: str) -> list[_Reader]:
        value = self._get(name, "a list")
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise _bad(self.where, self.prefix + name, f"a list of at most {MAX_ITEMS}")
        return [_Reader(v, self.where, f"{self.prefix}{name}[{i}].") for i, v in enumerate(value)]


@dataclass(frozen=True)
class NetworkInfo:
    """Which chain and token the coordinator pays on, and its claim rules."""

    chain_id: int
    token: str
    verifying_contract: str
    min_claim: int
    fee: int
    rate_per_block_token: int
    settle_seconds: int
    claim_deadline_seconds: int
    rpc_url: str  # a hint only; the app prefers its own configured RPC

    @classmethod
    def parse(cls, raw: object) -> NetworkInfo:
        r = _Reader(raw, "network")
        return cls(
            chain_id=r.integer("chain_id", 1),
            token=r.address("token"),
            verifying_contract=r.address("verifying_contract"),
            min_claim=r.wei("min_claim"),
            fee=r.wei("fee"),
            rate_per_block_token=r.wei("rate_per_block_token"),
            settle_seconds=r.integer("settle_seconds", 0, 366 * 86400),
            claim_deadline_seconds=r.integer("claim_deadline_seconds", 60, MAX_DEADLINE_S),
            rpc_url=r.text("rpc_url", optional=True, limit=2048),
        )


@dataclass(frozen=True)
class NodeEarnings:
    peer_id: str
    bound_at: float
    served_tokens: int
    requests: int
    estimated: int
    confirmed: int


@dataclass(frozen=True)
class DayEarnings:
    day: str
    earned: int
    served_tokens: int
    requests: int


@dataclass(frozen=True)
class Earnings:
    """Estimated (still settling), confirmed (settled, all time), claimable, pending (claimed, not yet
    paid) and paid, in wei; per node and per day."""

    wallet: str
    symbol: str
    decimals: int
    estimated: int
    confirmed: int
    claimable: int
    pending: int
    paid: int
    min_claim: int
    fee: int
    next_nonce: int
    as_of: float
    nodes: tuple[NodeEarnings, ...]
    history: tuple[DayEarnings, ...]

    def as_json(self) -> dict[str, Any]:
        """The reply's own JSON shape (amounts as decimal strings); `Earnings.parse` reads it back."""
        return {
            "wallet": self.wallet,
            "symbol": self.symbol,
            "decimals": self.decimals,
            "estimated": str(self.estimated),
            "confirmed": str(self.confirmed),
            "claimable": str(self.claimable),
            "pending": str(self.pending),
            "paid": str(self.paid),
            "min_claim": str(self.min_claim),
            "fee": str(self.fee),
            "next_nonce": self.next_nonce,
            "as_of": self.as_of,
            "nodes": [
                {**n.__dict__, "estimated": str(n.estimated), "confirmed": str(n.confirmed)}
                for n in self.nodes
            ],
            "history": [{**d.__dict__, "earned": str(d.earned)} for d in self.history],
        }

    @classmethod
    def parse(cls, raw: object) -> Earnings:
        r = _Reader(raw, "earnings")
        nodes = tuple(
            NodeEarnings(
                peer_id=n.text("peer_id", _PEER_ID),
                bound_at=n.number("bound_at"),
                served_tokens=n.integer("served_tokens"),
                requests=n.integer("requests"),
                estimated=n.wei("estimated"),
                confirmed=n.wei("confirmed"),
            )
            for n in r.items("nodes")
        )
        history = tuple(
            DayEarnings(
                day=d.text("day", _DAY),
                earned=d.wei("earned"),
                served_tokens=d.integer("served_tokens"),
                requests=d.integer("requests"),
            )
            for d in r.items("history")
        )
        return cls(
            wallet=r.address("wallet"),
            symbol=r.text("symbol", _SYMBOL),
            decimals=r.integer("decimals", 0, 36),
            estimated=r.wei("estimated"),
            confirmed=r.wei("confirmed"),
            claimable=r.wei("claimable"),
            pending=r.wei("pending"),
            paid=r.wei("paid"),
            min_claim=r.wei("min_claim"),
            fee=r.wei("fee"),
            next_nonce=r.integer("next_nonce"),
            as_of=r.number("as_of"),
            nodes=nodes,
            history=history,
        )


@dataclass(frozen=True)
class ClaimCredit:
    """One piece of served work a claim pays for, as the coordinator credited it."""

    credit_id: str
    request_id: str
    peer_id: str
    start_block: int
    end_block: int
    tokens: int
    amount: int
    credited_at: float


@dataclass(frozen=True)
class ClaimStatus:
    """A claim as the coordinator sees it: accepted (payout on its way), paid (tx_hash) or failed."""

    claim_id: str
    wallet: str
    amount: int
    fee: int
    net_amount: int
    nonce: int
    state: str
    reason: str
    tx_hash: str
    credits: tuple[ClaimCredit, ...]

    @classmethod
    def parse(cls, raw: object) -> ClaimStatus:
        r = _Reader(raw, "claim")
        state = r.text("state")
        if state not in CLAIM_STATES:
            raise _bad("claim", "state", " or ".join(CLAIM_STATES))
        tx_hash = r.text("tx_hash", _TX_HASH, optional=True)
        if state == "paid" and not tx_hash:
            raise _bad("claim", "tx_hash", "the payout transaction hash of a paid claim")
        amount, fee, net = r.wei("amount"), r.wei("fee"), r.wei("net_amount")
        if net != amount - fee:
            raise _bad("claim", "net_amount", "amount minus fee")
        credits = tuple(
            ClaimCredit(
                credit_id=c.text("credit_id"),
                request_id=c.text("request_id"),
                peer_id=c.text("peer_id", _PEER_ID),
                start_block=c.integer("start_block"),
                end_block=c.integer("end_block"),
                tokens=c.integer("tokens"),
                amount=c.wei("amount"),
                credited_at=c.number("credited_at"),
            )
            for c in r.items("credits")
        )
        return cls(
            claim_id=r.text("claim_id", _TX_HASH),
            wallet=r.address("wallet"),
            amount=amount,
            fee=fee,
            net_amount=net,
            nonce=r.integer("nonce"),
            state=state,
            reason=r.reason("reason"),
            tx_hash=tx_hash,
            credits=credits,
        )


@dataclass(frozen=True)
class Binding:
    peer_id: str
    wallet: str
    bound_at: float

    @classmethod
    def parse(cls, raw: object) -> Binding:
        r = _Reader(raw, "bind")
        return cls(peer_id=r.text("peer_id", _PEER_ID), wallet=r.address("wallet"), bound_at=r.number("bound_at"))


def format_tokens(wei: int, decimals: int = 18, symbol: str = "FAR", places: int = 6) -> str:
    """`1234500000000000000` -> `1.2345 FAR` (rounded down to `places`, trailing zeros dropped)."""
    whole, frac = divmod(wei, 10**decimals)
    digits = str(frac).rjust(decimals, "0")[:places].rstrip("0")
    text = f"{whole:,}" + (f".{digits}" if digits else "")
    if wei and text == "0":
        text = f"<0.{'0' * (places - 1)}1"
    return f"{text} {symbol}"
