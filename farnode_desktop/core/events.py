"""Core events: what happened, to which node or part of the app, and why; a small thread-safe bus."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Listener = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    """One thing that happened. `topic` is dotted (`node.state`, `gpu.paused`, `wallet.payout`)."""

    topic: str
    source: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


class EventBus:
    """Delivers events to listeners synchronously on the emitting thread; the Qt bridge re-emits them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[tuple[str, Listener]] = []

    def subscribe(self, listener: Listener, prefix: str = "") -> Callable[[], None]:
        """Call `listener` for every event whose topic starts with `prefix`; returns an unsubscribe."""
        entry = (prefix, listener)
        with self._lock:
            self._listeners.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._listeners:
                    self._listeners.remove(entry)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            listeners = [fn for prefix, fn in self._listeners if event.topic.startswith(prefix)]
        for fn in listeners:
            fn(event)


class EventLog:
    """A listener that keeps events in memory (for tests and the CLI's `--foreground` view)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def topics(self) -> list[str]:
        with self._lock:
            return [e.topic for e in self.events]
