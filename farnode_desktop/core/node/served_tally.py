"""Served-work totals of one node that add up across server restarts (each server counts from zero), a rate, and
when the last request arrived."""

from __future__ import annotations

import collections

from farnode_desktop.mesh.wire import NodeReport


class ServedTally:
    """Feeds on the status endpoint's counters; `tokens`, `requests`, `rate()` and `last_request_at` are what the
    provider sees. The counters leave out the node's own test requests (mesh/counters.py), so a node whose only
    traffic is its health check has no last request."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._base_tokens = self._base_requests = 0
        self._tokens = self._requests = 0
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self.last_request_at: float | None = None  # when the request count last grew (the clock of `update`)

    def new_server(self) -> None:
        """A new server process counts from zero: keep what the last one served."""
        self._base_tokens += self._tokens
        self._base_requests += self._requests
        self._tokens = self._requests = 0
        self._samples.clear()

    def update(self, now: float, answer: NodeReport) -> None:
        self._tokens = answer.served.served_tokens
        requests = sum(answer.served.requests.values())
        if requests > self._requests:
            self.last_request_at = now
        self._requests = requests
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
