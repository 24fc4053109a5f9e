"""The one task runner: blocking work (NVML, keyring, HTTP, chain, the core's tick) runs on worker threads;
its result or error comes back to a callback on the GUI thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

Success = Callable[[Any], None]
Failure = Callable[[BaseException], None]


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits, Qt queues the call to the GUI thread."""

    done = Signal(object, object, object)  # callback, value, token


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner, fn: Callable[[], Any], on_success: Success | None,
                 on_error: Failure | None, key: str | None) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._runner = runner
        self._fn = fn
        self._on_success = on_success
        self._on_error = on_error
        self._key = key

    def run(self) -> None:
        try:
            value = self._fn()
        except BaseException as exc:
            self._runner._finish(self._key, self._on_error or self._runner.default_error, exc)
        else:
            self._runner._finish(self._key, self._on_success, value)


class TaskRunner(QObject):
    """Runs callables on a small thread pool. `key` makes a job exclusive: a second submit with the same key
    while the first still runs is dropped (the periodic tick never piles up)."""

    failed = Signal(object)  # errors no caller handled: shown by the app as a notification

    def __init__(self, max_threads: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.done.connect(self._deliver)
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[[], Any], on_success: Success | None = None, on_error: Failure | None = None,
               *, key: str | None = None) -> bool:
        """Queue `fn`; returns False when a job with the same key is still running or the runner is closed."""
        with self._lock:
            if self._closed or (key is not None and key in self._running):
                return False
            if key is not None:
                self._running.add(key)
        self.pool.start(_Job(self, fn, on_success, on_error, key))
        return True

    def busy(self, key: str) -> bool:
        with self._lock:
            return key in self._running

    def default_error(self, exc: BaseException) -> None:
        log.warning("a background task failed: %s: %s", type(exc).__name__, exc)
        self.failed.emit(exc)

    def _finish(self, key: str | None, callback: Callable[[Any], None] | None, value: object) -> None:
        with self._lock:
            if key is not None:
                self._running.discard(key)
            if self._closed:
                return
        if callback is not None:
            self._relay.done.emit(callback, value, None)

    def _deliver(self, callback: Callable[[Any], None], value: object, _token: object) -> None:
        try:
            callback(value)
        except Exception:  # a broken slot must not take the event loop down
            log.exception("a task callback failed")

    def close(self, timeout_ms: int = 30_000) -> bool:
        """Stop delivering results and wait for running jobs; True when all finished in time."""
        with self._lock:
            self._closed = True
        return bool(self.pool.waitForDone(timeout_ms))
