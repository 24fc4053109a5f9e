"""The typed, stdlib-only wire form shared by mesh/ (the status endpoint) and core/ (the supervisor's probe)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
