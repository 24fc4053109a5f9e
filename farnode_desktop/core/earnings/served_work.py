"""Served work: each node's served-tokens counter written to the ledger in periods, and the ledger's periods read
back as a per-minute series whose figures add up to the counters they came from."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from farnode_desktop.core.earnings.ledger import Ledger, ServedWork
from farnode_desktop.core.node.status import RUNNING_STATES, NodeStatus

MINUTE_S = 60.0
MIN_RECORD_S = 1.0  # a record shorter than this (a flush right after the last one) counts as one second


@dataclass(frozen=True)
class _Period:
    start: float  # wall time the open period began
    counter_at_start: int  # the node's served_tokens counter then


class ServedWorkRecorder:
    """Turns the cumulative counter of each node's supervisor into ledger periods of `period_s`.

    A supervisor's counter starts at 0 and only grows (it carries over the supervisor's own relaunches), so
    what a period served is the counter's growth. `flush` closes a node's open period at once: call it before a
    node stops or its supervisor is replaced, so no partial period is lost.
    """

    def __init__(self, ledger: Ledger, period_s: float) -> None:
        self.ledger = ledger
        self.period_s = period_s
        self._open: dict[str, _Period] = {}

    def observe(self, status: NodeStatus, wall: float, *, final: bool = False) -> None:
        """Record the node's open period when it is `period_s` old (or at once when `final`)."""
        if not status.peer_id:
            return  # nothing can be credited before the node has its identity; its counter keeps the tokens
        counter = status.served_tokens
        period = self._open.get(status.name)
        if period is None:
            # the supervisors are the app's own: their counters start at 0 and everything since is unrecorded
            period = self._open[status.name] = _Period(wall, 0)
        if counter < period.counter_at_start:
            period = self._open[status.name] = _Period(period.start, 0)  # a new counter behind the same name
        if status.state not in RUNNING_STATES:
            if counter == period.counter_at_start:
                self._open[status.name] = _Period(wall, counter)  # idle time is no part of any period
                return
            final = True  # it stopped or paused since: close its period now, not after the idle time too
        if not final and wall - period.start < self.period_s:
            return
        tokens = counter - period.counter_at_start
        if tokens > 0:
            blocks = max(0, (status.end_block or 0) - (status.start_block or 0))
            self.ledger.record_served_work(status.name, status.peer_id, period_start=period.start,
                                           period_end=max(wall, period.start), tokens=tokens, blocks=blocks)
        self._open[status.name] = _Period(wall, counter)

    def flush(self, status: NodeStatus, wall: float) -> None:
        """Close the node's open period now (before it stops)."""
        self.observe(status, wall, final=True)

    def unrecorded(self, statuses: Iterable[NodeStatus], wall: float) -> list[ServedWork]:
        """Each node's open period as it stands (not yet in the ledger): what it served since its last record."""
        works = []
        for status in statuses:
            period = self._open.get(status.name)
            if period is None or not status.peer_id or status.served_tokens < period.counter_at_start:
                continue
            if wall <= period.start:
                continue  # just opened: it covers no time yet
            if status.state not in RUNNING_STATES and status.served_tokens == period.counter_at_start:
                continue  # idle time is no part of any period
            blocks = max(0, (status.end_block or 0) - (status.start_block or 0))
            works.append(ServedWork(0, status.name, status.peer_id, period.start, max(wall, period.start),
                                    status.served_tokens - period.counter_at_start, blocks))
        return works

    def forget(self, name: str) -> None:
        """The node's supervisor is gone (replaced or removed): the next one's counter starts again at 0."""
        self._open.pop(name, None)


class MinutePoint(NamedTuple):
    """One minute of the chart: served tokens/s (summed over nodes) and the tokens served in it."""

    at: float  # the minute's start, wall time
    tokens_per_s: float
    tokens: float


def per_minute(works: Iterable[ServedWork], since: float, until: float, bucket_s: float = MINUTE_S,
               origin: float = 0.0) -> list[MinutePoint]:
    """Served tokens/s per minute from ledger periods of any length (minutes counted from `origin`: 0 for calendar
    minutes, `until` for minutes that end now, as the headline's rate does).

    Each period's tokens are spread evenly over the time it covers; a minute's rate is, per node, the tokens that
    fell in it divided by the seconds that node's periods covered of it, and the nodes' rates are added up. So
    records every 5 s and records every 60 s straddling minute edges give the same figures, and the minutes'
    tokens add up to the ledger's (within [since, until]). A period that served nothing (a node's open period with
    no requests yet) counts as time covered at 0 tokens/s.
    """
    tokens: dict[tuple[str, int], float] = {}
    covered: dict[tuple[str, int], float] = {}
    for work in works:
        end = work.period_end
        start = min(work.period_start, end - MIN_RECORD_S)
        length = end - start
        lo, hi = max(start, since), min(end, until)
        if hi <= lo or work.tokens < 0:
            continue
        k = math.floor((lo - origin) / bucket_s)
        while origin + k * bucket_s < hi:
            a, b = max(lo, origin + k * bucket_s), min(hi, origin + (k + 1) * bucket_s)
            if b > a:
                key = (work.node, k)
                tokens[key] = tokens.get(key, 0.0) + work.tokens * (b - a) / length
                covered[key] = covered.get(key, 0.0) + (b - a)
            k += 1
    rates: dict[int, float] = {}
    served: dict[int, float] = {}
    for key, n in tokens.items():
        minute = key[1]
        rates[minute] = rates.get(minute, 0.0) + n / covered[key]
        served[minute] = served.get(minute, 0.0) + n
    return [MinutePoint(origin + k * bucket_s, rates[k], served[k]) for k in sorted(rates)]


def served_rates(works: Iterable[ServedWork], now: float, window_s: float = MINUTE_S) -> dict[str, float]:
    """Each node's served tokens/s over the last `window_s`: the throughput chart's latest point (whose minutes end
    at `now`), by the same arithmetic from the same periods, so the headline and the chart cannot disagree."""
    by_node: dict[str, list[ServedWork]] = {}
    for work in works:
        by_node.setdefault(work.node, []).append(work)
    rates: dict[str, float] = {}
    for node, mine in by_node.items():
        points = per_minute(mine, now - window_s, now, window_s, origin=now)
        rates[node] = points[-1].tokens_per_s if points else 0.0
    return rates
