"""The earnings forecast: FAR a day this PC can expect, from the FAR actually settled per served token over the
trailing days and this PC's measured duty cycle, as a range with its basis in words (never a full-batch,
always-busy guess)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from farnode_desktop.core.daily_totals import DAY_S, day_of, day_start
from farnode_desktop.core.daily_totals import full_days as days_in_full
from farnode_desktop.core.earnings.duty_cycle import NO_DUTY, DutyCycle, DutyShares
from farnode_desktop.core.earnings.ledger import ClaimState, Ledger
from farnode_desktop.core.earnings.served_work import per_minute

WINDOW_DAYS = 7  # the trailing days the forecast reads
MIN_DAYS = 2  # fewer full days of record, or of settled payouts, is not enough history
# Student's t, 95th percentile, by degrees of freedom: the range is a 90 % prediction interval for the next day.
_T95 = {1: 6.314, 2: 2.920, 3: 2.353, 4: 2.132, 5: 2.015, 6: 1.943, 7: 1.895, 8: 1.860, 9: 1.833, 10: 1.812}
_T95_LARGE = 1.645


@dataclass(frozen=True)
class DayRecord:
    """One full day of this PC's record."""

    day: str
    tokens: float  # served tokens (the nodes' own counters, from the ledger)
    far_wei: float  # what that day's serving pays at that day's settled rate (the trailing rate if none settled)


@dataclass(frozen=True)
class Forecast:
    """FAR a day expected from this PC (wei), or `ready` False with `basis` saying what is missing."""

    ready: bool
    basis: str  # the forecast's basis in plain words, or why there is none yet
    low_wei: float = 0.0
    mid_wei: float = 0.0
    high_wei: float = 0.0
    wei_per_token: float = 0.0  # FAR settled per served token (0 until any payout settled)
    tokens_per_day: float = 0.0
    duty: DutyShares = NO_DUTY
    days: tuple[DayRecord, ...] = ()
    decimals: int = 18

    @property
    def range_text(self) -> str:
        """"1.2-1.6 FAR a day", or "Not enough history yet"."""
        if not self.ready:
            return "Not enough history yet"
        low, high = far_amount(self.low_wei, self.decimals), far_amount(self.high_wei, self.decimals)
        return f"{low} FAR a day" if low == high else f"{low}-{high} FAR a day"

    def cost_of(self, tokens: float) -> float:
        """What not serving `tokens` costs, in wei at the settled rate (0 with no payout settled yet)."""
        return max(0.0, tokens) * self.wei_per_token


def far_amount(wei: float, decimals: int = 18) -> str:
    """An amount of FAR to three significant digits ("0.0123", "1.25", "0.8", "1,234")."""
    raw = wei / 10**decimals
    if raw >= 999.5:
        return f"{raw:,.0f}"
    value = float(f"{raw:.3g}")
    if value <= 0:
        return "0"
    places = max(0, 2 - math.floor(math.log10(value)))
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def per_tokens_text(wei_per_token: float, decimals: int = 18) -> str:
    """"0.8 FAR per 1,000 tokens served": the first of 1, 1,000, a million tokens that makes a readable figure."""
    for n, words in ((1, "token"), (1000, "1,000 tokens"), (1_000_000, "million tokens")):
        if wei_per_token * n / 10**decimals >= 0.01 or n == 1_000_000:
            return f"{far_amount(wei_per_token * n, decimals)} FAR per {words} served"
    raise AssertionError("unreachable")


def _t95(df: int) -> float:
    return _T95.get(df, _T95_LARGE)


def settled_by_day(ledger: Ledger, since: float) -> dict[str, tuple[float, float]]:
    """Per UTC day of crediting: (FAR paid net of fees, in wei; the block-tokens it paid), from confirmed claims."""
    days: dict[str, tuple[float, float]] = {}
    for claim in ledger.claims():
        if claim.state is not ClaimState.CONFIRMED or claim.amount <= 0:
            continue
        net_share = claim.net_amount / claim.amount  # each credit pays its share of the claim after the fee
        for credit in ledger.claim_credits(claim.id):
            if credit["credited_at"] < since:
                continue
            tokens = max(0, credit["end_block"] - credit["start_block"]) * credit["tokens"]
            day = day_of(credit["credited_at"])
            wei, served = days.get(day, (0.0, 0.0))
            days[day] = (wei + int(credit["amount"]) * net_share, served + tokens)
    return days


def make_forecast(ledger: Ledger, duty: DutyCycle | None, now: float, *, window_days: int = WINDOW_DAYS,
                  decimals: int = 18) -> Forecast:
    """The forecast made at `now` from the trailing `window_days` full days (today, still running, is left out)."""
    today = day_start(day_of(now))
    since = today - window_days * DAY_S
    works = ledger.served_work(since=since)
    first = duty.totals.first_seen if duty is not None else None
    if works:
        first = min(first if first is not None else math.inf, works[0].period_start)
    full_days = days_in_full(first, now, window_days)
    start = day_start(full_days[0]) if full_days else today
    served = {day_of(p.at): p.tokens for p in per_minute(works, start, today, DAY_S)}
    settled = settled_by_day(ledger, since)
    paid_wei = sum(w for w, _ in settled.values())
    paid_tokens = sum(t for _, t in settled.values())
    settled_days = sum(1 for _, t in settled.values() if t > 0)
    shares = duty.shares(full_days) if duty is not None else NO_DUTY
    if len(full_days) < MIN_DAYS or settled_days < MIN_DAYS or paid_tokens <= 0:
        return Forecast(False, _not_yet(len(full_days), settled_days), duty=shares, decimals=decimals,
                        wei_per_token=paid_wei / paid_tokens if paid_tokens > 0 else 0.0)
    rate = paid_wei / paid_tokens
    records = []
    for day in full_days:
        wei, tokens = settled.get(day, (0.0, 0.0))
        day_rate = wei / tokens if tokens > 0 else rate  # a day's own settled rate, the trailing one if none
        records.append(DayRecord(day, served.get(day, 0.0), served.get(day, 0.0) * day_rate))
    values = [r.far_wei for r in records]
    mid = statistics.fmean(values)
    n = len(values)
    half = _t95(n - 1) * statistics.stdev(values) * math.sqrt(1 + 1 / n) if n > 1 else mid
    tokens_per_day = statistics.fmean(r.tokens for r in records)
    basis = (f"based on {n} days: {per_tokens_text(rate, decimals)}, {_tokens(tokens_per_day)} tokens served a day, "
             f"{_duty_words(shares)}")
    return Forecast(True, basis, max(0.0, mid - half), mid, mid + half, rate, tokens_per_day, shares,
                    tuple(records), decimals)


def _tokens(n: float) -> str:
    """`950`, `12,400`, `3.4 million`."""
    return f"{n / 1e6:.1f} million" if n >= 1e6 else f"{n:,.0f}"


def _duty_words(shares: DutyShares) -> str:
    if shares.recorded_s <= 0:
        return "this PC's duty cycle not recorded yet"
    words = f"serving {shares.serving:.0%} of the time"
    rest = [f"{what} {share:.0%}" for what, share in (("idle without requests", shares.idle),
                                                     ("paused for games", shares.gaming), ("paused", shares.paused),
                                                     ("stopped", shares.stopped))
            if share >= 0.005]
    return words.replace("%", " %") + (f" ({', '.join(rest)})".replace("%", " %") if rest else "")


def _not_yet(full_days: int, settled_days: int) -> str:
    return (f"a forecast needs {MIN_DAYS} full days of serving with payouts settled on "
            f"chain (so far {full_days} full day{'s' if full_days != 1 else ''} recorded, payouts settled on "
            f"{settled_days} day{'s' if settled_days != 1 else ''})")
