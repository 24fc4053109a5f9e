"""The typed, stdlib-only wire form shared by mesh/ (the status endpoint) and core/ (the supervisor's probe): the
server's states, its status answer and the health report inside it, each with a strict `from_json`; and the one
bounded JSON reader both sides read outside JSON with (replies, files, model folders)."""

from __future__ import annotations

import json
import re
from array import array
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from itertools import accumulate
from typing import Any

MAX_JSON_DEPTH = 64  # real replies and files nest a few levels
MAX_JSON_CONTAINERS = 1 << 18  # lists and objects in one document: a coordinator reply lists up to 200,000 items
# Every string, in one linear pass: the possessive loop never backtracks, and a string left open runs to the end of
# the text, so no quote starts a second scan of what follows it.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes
# A real escape is a backslash after an even run of them (in valid JSON, escapes exist only inside strings).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# A pair goes with the even run of backslashes before it, so what follows keeps its own run's parity.
_SURROGATE_PAIR = re.compile(r"(?<!\\)(?:\\\\)*+\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_REAL_SURROGATE = re.compile(r"(?<!\\)(?:\\\\)*+\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class JsonRefused(ValueError):
    """JSON refused before parsing: too deep, too many lists and objects, or text that is not Unicode."""


def loads_bounded(text: str, max_depth: int = MAX_JSON_DEPTH, max_containers: int = MAX_JSON_CONTAINERS,
                  **options: Any) -> Any:
    """json.loads (with `options`) for JSON from outside, in linear time: JsonRefused, a ValueError saying why, for JSON
    nested deeper than `max_depth`, holding more than `max_containers` lists and objects, or text that is not
    Unicode (a lone surrogate escape, which decodes to a str no file or socket takes). The checks run before the C
    parser, which recurses per level: at the recursion limit eth-account's py_ecc sets (100,000) it would overflow
    the C stack and crash the process."""
    if text.count("[") + text.count("{") > min(max_depth, max_containers):  # fewer brackets are within both
        outside = _STRING.sub("", text) if '"' in text else text
        opens = outside.count("[") + outside.count("{")
        if opens > max_containers:
            raise JsonRefused(f"it holds more than {max_containers} lists and objects")
        brackets = outside.encode("utf-8", "surrogatepass").translate(None, _NOT_A_BRACKET)
        # JSON never closes more than it opened, so what the parser can read spans at most 2 x opens brackets
        steps = array("b", brackets[: 2 * opens + 1].translate(_STEPS))
        if max(accumulate(steps), default=0) > max_depth:
            raise JsonRefused(f"it is nested deeper than {max_depth} levels")
    if _SURROGATE_ESCAPE.search(text) is not None and _REAL_SURROGATE.search(_SURROGATE_PAIR.sub("", text)):
        raise JsonRefused("it holds text that is not Unicode (a lone surrogate)")
    return json.loads(text, **options)


@dataclass(frozen=True)
class HealthReport:
    """What the node's own test requests found: a real, tiny request through its blocks over its p2p address."""

    checks: int = 0  # finished test requests
    passed: int = 0
    failed: int = 0
    consecutive_failures: int = 0
    last_error: str = ""  # why the last test request failed; empty once one passes again
    last_passed_ago_s: float | None = None
    last_took_s: float | None = None
    running_s: float | None = None  # how long the test request in flight has run; None when none is
    cpu_s: float = 0.0  # CPU time the prober's thread spent on all checks so far

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: object) -> HealthReport | None:
        """The report in a status answer; None when there is none or it is not one (each field is checked)."""
        if not isinstance(raw, dict):
            return None
        values: dict[str, Any] = {}
        for name in ("checks", "passed", "failed", "consecutive_failures"):
            value = raw.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return None
            values[name] = value
        error = raw.get("last_error", "")
        if not isinstance(error, str):
            return None
        values["last_error"] = error[:500]
        for name in ("last_passed_ago_s", "last_took_s", "running_s", "cpu_s"):
            value = raw.get(name)
            if value is None and name != "cpu_s":
                values[name] = None
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1e9:
                return None
            values[name] = float(value)
        return cls(**values)


MAX_TEXT = 500  # an error text, a peer id, an address, a DHT prefix: longer is not an answer from our server
MAX_ITEMS = 100_000  # blocks, addresses, counter entries
_MAX_INT = 2**63 - 1
_MAX_FLOAT = 1e15


def capped(text: str) -> str:
    """Free text (an error) cut to what the wire carries."""
    return text[:MAX_TEXT]


class ServerState(StrEnum):
    """The states a server reports about itself on its status endpoint (the supervisor's NodeState derives from it)."""

    STARTING = "starting"
    LOADING = "loading blocks"
    SERVING = "serving"
    STOPPING = "stopping"


class _Bad(ValueError):
    """A field that is not what the wire allows (caught inside from_json, which answers None)."""


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_INT:
        raise _Bad
    return value


def _seconds(value: object) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < _MAX_FLOAT:
        raise _Bad  # NaN fails the comparison too
    return float(value)


def _text(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _Bad
    return value


def _maybe_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _maybe_count(value: object) -> int | None:
    return None if value is None else _count(value)


def _list(value: object) -> list[object]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise _Bad
    return value


def _counts_by(value: object, digits: bool) -> dict[str, int]:
    """A JSON object of counts by block number (`digits`) or by kind of work."""
    if not isinstance(value, dict) or len(value) > MAX_ITEMS:
        raise _Bad
    out: dict[str, int] = {}
    for key, count in value.items():
        if not isinstance(key, str) or not key or len(key) > 64 or (digits and not key.isdecimal()):
            raise _Bad
        out[key] = _count(count)
    return out


@dataclass(frozen=True)
class ServedCounts:
    """The served-work counters of one server process (mesh/counters.py), flat in the status answer."""

    served_tokens: int = 0  # a token through k blocks counts k times: the work the swarm pays for
    tokens_by_block: dict[str, int] = field(default_factory=dict)
    steps_by_block: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)  # by kind: inference, forward, backward
    tokens_by_kind: dict[str, int] = field(default_factory=dict)
    failed_batches: int = 0  # batches the blocks raised on
    last_failure: str = ""
    busy_seconds: float = 0.0
    own_check_seconds: float = 0.0  # runtime time spent on the node's own test requests

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> ServedCounts:
        """The counters in a status answer (raises _Bad or KeyError, which NodeReport.from_json turns into None)."""
        return cls(
            served_tokens=_count(raw["served_tokens"]),
            tokens_by_block=_counts_by(raw["tokens_by_block"], digits=True),
            steps_by_block=_counts_by(raw["steps_by_block"], digits=True),
            requests=_counts_by(raw["requests"], digits=False),
            tokens_by_kind=_counts_by(raw["tokens_by_kind"], digits=False),
            failed_batches=_count(raw["failed_batches"]),
            last_failure=_text(raw["last_failure"]),
            busy_seconds=_seconds(raw["busy_seconds"]),
            own_check_seconds=_seconds(raw["own_check_seconds"]),
        )


@dataclass(frozen=True)
class NodeReport:
    """The status endpoint's answer: what one server process says about itself (mesh/serve.py builds it, the
    supervisor's probe parses it)."""

    state: ServerState
    pid: int
    uptime_s: float
    peer_id: str | None = None
    multiaddrs: tuple[str, ...] = ()
    dht_prefix: str | None = None
    start_block: int | None = None  # the blocks served, [start_block, end_block); None while none are
    end_block: int | None = None
    blocks: tuple[int, ...] = ()
    dht_error: str | None = None  # why the DHT could not be asked; absent from the JSON when it could
    served: ServedCounts = field(default_factory=ServedCounts)
    health: HealthReport | None = None  # the node's own test requests; absent from the JSON without a prober
    # attention cache held (or awaited) by open inference sessions: 0 = none open; None (absent) = not known yet.
    # Each session holds its cache from its first step to its close, and the node's own test requests hold none.
    sessions_cache_bytes: int | None = None
    # inference sessions open in the handlers (counted from before a draining node's refusal is checked, so a
    # session that got past it is always counted); None = a server that does not count them
    sessions_open: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the same keys, in the same order, as before the wire was typed)."""
        body: dict[str, Any] = {
            "state": self.state.value,
            "pid": self.pid,
            "uptime_s": self.uptime_s,
            "peer_id": self.peer_id,
            "multiaddrs": list(self.multiaddrs),
            "dht_prefix": self.dht_prefix,
            "start_block": self.start_block,
            "end_block": self.end_block,
            "blocks": list(self.blocks),
        }
        if self.dht_error is not None:
            body["dht_error"] = self.dht_error
        body.update(self.served.to_json())
        if self.health is not None:
            body["health"] = self.health.to_json()
        if self.sessions_cache_bytes is not None:
            body["sessions_cache_bytes"] = self.sessions_cache_bytes
        if self.sessions_open is not None:
            body["sessions_open"] = self.sessions_open
        return body

    @classmethod
    def from_json(cls, raw: object) -> NodeReport | None:
        """The report in a status answer; None when it is not one (every field is checked, extra keys are ignored)."""
        if not isinstance(raw, dict):
            return None
        try:
            state = ServerState(raw["state"])
            start, end = _maybe_count(raw["start_block"]), _maybe_count(raw["end_block"])
            if (start is None) != (end is None) or (start is not None and end is not None and end <= start):
                return None
            health = None
            if "health" in raw:
                health = HealthReport.from_json(raw["health"])
                if health is None:
                    return None
            pid = _count(raw["pid"])
            if pid == 0:
                return None
            return cls(
                state=state,
                pid=pid,
                uptime_s=_seconds(raw["uptime_s"]),
                peer_id=_maybe_text(raw["peer_id"]),
                multiaddrs=tuple(_text(m) for m in _list(raw["multiaddrs"])),
                dht_prefix=_maybe_text(raw["dht_prefix"]),
                start_block=start,
                end_block=end,
                blocks=tuple(_count(b) for b in _list(raw["blocks"])),
                dht_error=_maybe_text(raw.get("dht_error")),
                served=ServedCounts._parse(raw),
                health=health,
                sessions_cache_bytes=_maybe_count(raw.get("sessions_cache_bytes")),
                sessions_open=_maybe_count(raw.get("sessions_open")),
            )
        except (KeyError, TypeError, ValueError):  # a missing field, an unhashable state, a _Bad field
            return None
