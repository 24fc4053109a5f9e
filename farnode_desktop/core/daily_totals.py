"""Per-day totals of measured quantities (seconds in a state, watt-hours), kept in a small JSON file written
atomically; the duty cycle and the GPUs' energy are recorded this way."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.checked_files import read_json_object, set_aside

DAY_S = 86_400.0
KEEP_DAYS = 62  # two months: the forecast reads a week, the dashboard a month at most
SAVE_EVERY_S = 60.0  # a crash loses at most this much of the record


def day_of(wall: float) -> str:
    """The UTC day a wall time falls in ("2026-12-07"), the coordinator's days too."""
    return dt.datetime.fromtimestamp(wall, dt.UTC).date().isoformat()


def day_start(day: str) -> float:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.UTC).timestamp()


def full_days(first_seen: float | None, now: float, window_days: int) -> list[str]:
    """The whole UTC days before `now`'s day, at most `window_days` of them, recorded from their start (a first day
    begun at noon would understate a whole day)."""
    today = day_start(day_of(now))
    if first_seen is None:
        return []
    begin = day_start(day_of(first_seen))
    first = max(today - window_days * DAY_S, begin if first_seen <= begin else begin + DAY_S)
    return [day_of(first + k * DAY_S) for k in range(max(0, round((today - first) / DAY_S)))]


class DailyTotals:
    """Totals per UTC day and key, each span spread over the days it covers.

    `problem` says in plain words when the file was damaged and set aside (the record starts again; nothing else is
    lost). `first_seen` is when recording began, so a reader knows which days were watched from their start.
    """

    def __init__(self, path: Path, keys: tuple[str, ...], *, save_every_s: float = SAVE_EVERY_S) -> None:
        self.path = path
        self.keys = keys
        self.save_every_s = save_every_s
        self.first_seen: float | None = None
        self.problem: str | None = None
        self._days: dict[str, dict[str, float]] = {}
        self._saved_at: float | None = None
        self._dirty = False
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            raw = read_json_object(self.path)
            first = raw.get("first_seen")
            days = raw.get("days")
            if not isinstance(days, dict) or not (first is None or _number(first)):
                raise ValueError("it does not hold per-day totals")
            loaded: dict[str, dict[str, float]] = {}
            for day, totals in days.items():
                dt.date.fromisoformat(str(day))
                if not isinstance(totals, dict) or not all(
                        k in self.keys and _number(v) and v >= 0 for k, v in totals.items()):
                    raise ValueError(f"the totals of {day} are not numbers")
                loaded[str(day)] = {k: float(v) for k, v in totals.items()}
        except (OSError, ValueError) as exc:
            aside = set_aside(self.path)
            self.problem = (f"{self.path.name} could not be read ({exc}); it was moved to "
                            f"{aside.name if aside else 'nowhere (moving it failed)'} and the record starts again")
            return
        self.first_seen = float(first) if first is not None else None
        self._days = loaded

    def add_span(self, start: float, end: float, amounts: dict[str, float]) -> None:
        """Add `amounts` spent evenly over [start, end), each day getting its share."""
        if end <= start:
            return
        if self.first_seen is None or start < self.first_seen:
            self.first_seen = start
        t = start
        while t < end:
            day = day_of(t)
            edge = min(end, day_start(day) + DAY_S)
            share = (edge - t) / (end - start)
            totals = self._days.setdefault(day, {})
            for key, amount in amounts.items():
                if key not in self.keys:
                    raise ValueError(f"{key!r} is not one of {self.keys}")
                totals[key] = totals.get(key, 0.0) + amount * share
            t = edge
        self._dirty = True

    def day(self, day: str) -> dict[str, float]:
        """The totals of one day, every key present (0 where nothing was added)."""
        totals = self._days.get(day, {})
        return {k: totals.get(k, 0.0) for k in self.keys}

    def days(self) -> list[str]:
        return sorted(self._days)

    def save(self, wall: float, *, force: bool = False) -> None:
        """Write the file when something changed and `save_every_s` has passed (or `force`); old days are dropped."""
        if not self._dirty or (not force and self._saved_at is not None and wall - self._saved_at < self.save_every_s):
            return
        oldest = day_of(wall - KEEP_DAYS * DAY_S)
        self._days = {d: v for d, v in self._days.items() if d >= oldest}
        body: dict[str, Any] = {"version": 1, "first_seen": self.first_seen, "days": self._days}
        try:
            write_atomic(self.path, json.dumps(body, sort_keys=True))
        except OSError as exc:  # a full disk: keep counting in memory and try again at the next save
            self.problem = f"{self.path.name} could not be written ({exc}); FarNode keeps trying"
            self._saved_at = wall
            return
        self._saved_at = wall
        self._dirty = False


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
