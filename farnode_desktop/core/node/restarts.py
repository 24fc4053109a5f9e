"""The supervisor's timings, and its restart budget: a backoff that doubles, and a crash loop that cools down (10 min,
30 min, 1 h) and tries again by itself, because on an unattended rig one bad minute must not cost a night."""

from __future__ import annotations

import collections
from dataclasses import dataclass


@dataclass
class SupervisorPolicy:
    """Timings and limits; tests shorten them, the defaults suit a real GPU node."""

    startup_timeout_s: float = 900.0  # launch -> serving (a big model downloads and loads blocks first)
    stop_grace_s: float = 20.0  # SIGINT -> SIGTERM to the group (Petals' graceful stop takes > 6 s)
    term_grace_s: float = 5.0  # SIGTERM -> SIGKILL
    kill_grace_s: float = 5.0  # SIGKILL -> give up and report the survivors
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 300.0
    crash_limit: int = 5  # this many failures ...
    crash_window_s: float = 600.0  # ... within this window are a crash loop: cool down, then try again
    cooldowns_s: tuple[float, ...] = (600.0, 1800.0, 3600.0)  # one after another; the last one repeats
    stable_after_s: float = 120.0  # serving this long resets the backoff and the cool-downs
    probe_interval_s: float = 1.0  # while starting
    watchdog_interval_s: float = 5.0  # while serving
    watchdog_timeout_s: float = 30.0  # no answer from the status endpoint for this long -> restart
    members_interval_s: float = 1.0  # how often the group's processes are looked up in the process table
    frozen_after_s: float = 2.0  # a group process stopped (SIGSTOP) this long is frozen -> restart
    rate_window_s: float = 60.0  # tokens/s is measured over this window
    health_failures: int = 2  # this many test requests through the node failing in a row -> restart
    health_stuck_s: float = 60.0  # a test request in flight this long counts as failed (its own deadline is 20 s)
    health_silent_s: float = 200.0  # no test request passed this long (they run every 60 s) -> restart


def duration_text(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


class RestartBudget:
    """Counts failures; says how long to wait before the next try and whether that wait is a crash loop's cool-down."""

    def __init__(self, policy: SupervisorPolicy) -> None:
        self.policy = policy
        self.failures: collections.deque[float] = collections.deque()
        self.consecutive = 0
        self.cooldowns = 0  # cool-downs since the node last served stably

    def failure(self, now: float) -> tuple[float, bool]:
        """One more failure at `now`: (seconds to wait, whether it is a crash loop's cool-down)."""
        self.failures.append(now)
        while self.failures and now - self.failures[0] > self.policy.crash_window_s:
            self.failures.popleft()
        self.consecutive += 1
        if len(self.failures) >= self.policy.crash_limit:
            return self.cool_down(), True
        return min(self.policy.backoff_cap_s, self.policy.backoff_base_s * 2 ** (self.consecutive - 1)), False

    def cool_down(self) -> float:
        """The next cool-down; the failures before it are forgiven (after it, a fresh crash loop is needed)."""
        steps = self.policy.cooldowns_s
        wait = steps[min(self.cooldowns, len(steps) - 1)]
        self.cooldowns += 1
        self.failures.clear()
        self.consecutive = 0
        return wait

    def stable(self) -> None:
        self.consecutive = 0
        self.cooldowns = 0

    def reset(self) -> None:
        """The provider pressed Start: a clean slate."""
        self.failures.clear()
        self.consecutive = 0
        self.cooldowns = 0
