"""Plain-language formatting shared by the view-models: durations, counts, sizes, short ids and addresses, and an
error with what to do about it."""

from __future__ import annotations

import datetime as dt

from farnode_desktop.core.earnings.coordinator_models import format_tokens
from farnode_desktop.core.errors import FarNodeError

GIB = 1024**3

__all__ = ["count", "day_label", "duration", "error_text", "far", "gib", "short_address", "short_id", "when",
           "with_hint"]


def duration(seconds: float) -> str:
    """`2 h 14 min`, `5 min`, `40 s`."""
    s = max(0, int(seconds))
    days, rem = divmod(s, 86_400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def count(n: float) -> str:
    """`1,234`, `12.3 k`, `4.5 M` for served tokens."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} M"
    if n >= 100_000:
        return f"{n / 1000:.0f} k"
    return f"{round(n):,}"


def gib(n_bytes: float) -> str:
    return f"{n_bytes / GIB:.1f}"


def short_id(peer_id: str | None, keep: int = 6) -> str:
    """`12D3Ko…x7Yz` for a peer id."""
    if not peer_id:
        return "—"
    return peer_id if len(peer_id) <= 2 * keep + 1 else f"{peer_id[:keep]}…{peer_id[-4:]}"


def short_address(address: str | None) -> str:
    """An address kept to its first 6 and last 4 characters (what the diagnostics keep too)."""
    if not address:
        return "—"
    return address if len(address) <= 12 else f"{address[:6]}…{address[-4:]}"


def far(wei: int, decimals: int = 18, symbol: str = "FAR", places: int = 6) -> str:
    return format_tokens(wei, decimals, symbol, places)


def when(ts: float, now: float | None = None) -> str:
    """`14:32` today, `Mon 14:32` this week, `2026-11-02 14:32` otherwise (local time)."""
    moment = dt.datetime.fromtimestamp(ts)
    current = dt.datetime.fromtimestamp(now) if now is not None else dt.datetime.now()
    if moment.date() == current.date():
        return moment.strftime("%H:%M")
    if abs((current - moment).days) < 7:
        return moment.strftime("%a %H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def day_label(day: str) -> str:
    """`2026-11-22` -> `Nov 22`."""
    try:
        return dt.date.fromisoformat(day).strftime("%b %d")
    except ValueError:
        return day


def with_hint(text: str, hint: str, sep: str = " — ") -> str:
    """`text — hint` (a line's) or, with `sep="\\n"`, the hint on a line of its own (a notification's); `text` alone
    when there is no hint."""
    return f"{text}{sep}{hint}" if hint else text


def error_text(exc: BaseException, sep: str = " — ") -> str:
    """What went wrong and, for FarNode's own errors, what to do about it: `with_hint(str(exc), exc.hint)`."""
    return with_hint(str(exc), exc.hint if isinstance(exc, FarNodeError) else "", sep)
