"""Served-work totals of one node that add up across server restarts (each server counts from zero), and a rate."""

from __future__ import annotations

import collections

from farnode_desktop.mesh.wire import NodeReport


class ServedTally:
    """Feeds on the status endpoint's counters; `tokens`, `requests` and `rate()` are what the provider sees."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._base_tokens = self._base_requests = 0
        self._tokens = self._requests = 0
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def new_server(self) -> None:
        """A new server process counts from zero: keep what the last one served."""
        self._base_tokens += self._tokens
        self._base_requests += self._requests
        self._tokens = self._requests = 0
        self._samples.clear()

    def update(self, now: float, answer: NodeReport) -> None:
        self._tokens = answer.served.served_tokens
        self._requests = sum(answer.served.requests.values())
        self._samples.append((now, self.tokens))
        while self._samples and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    @property
    def tokens(self) -> int:
        return self._base_tokens + self._tokens

    @property
    def requests(self) -> int:
        return self._base_requests + self._requests

    def rate(self) -> float:
        """Tokens per second over the window."""
        if len(self._samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
