"""The one task runner: blocking work (NVML, keyring, HTTP, chain, the core's tick) runs on worker threads;
its result or error comes back to a callback on the GUI thread. Its workers are daemon threads: a job that never
returns (a keyring prompt nobody answers) never keeps the app from quitting."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

Success = Callable[[Any], None]
Failure = Callable[[BaseException], None]
IDLE_EXIT_S = 30.0  # a worker with nothing to do for this long ends (the pool grows again on demand)


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits, Qt queues the call to the GUI thread."""

    done = Signal(object, object, object)  # callback, value, token


@dataclass
class _Job:
    fn: Callable[[], Any]
    on_success: Success | None
    on_error: Failure | None
    key: str | None


class TaskRunner(QObject):
    """Runs callables on up to `max_threads` daemon worker threads. `key` makes a job exclusive: a second submit
    with the same key while the first still runs is dropped (the periodic tick never piles up).

    Unlike a QThreadPool, whose destructor waits for every running job, nothing here is waited for at exit:
    `close(timeout_ms)` waits at most that long and then lets the jobs still running go."""

    failed = Signal(object)  # errors no caller handled: shown by the app as a notification

    def __init__(self, max_threads: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.max_threads = max_threads
        self._relay = _Relay(self)
        self._relay.done.connect(self._deliver)
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._all_done = threading.Condition(self._lock)
        self._workers = 0
        self._idle = 0
        self._unfinished = 0  # queued or running
        self._closed = False

    def submit(self, fn: Callable[[], Any], on_success: Success | None = None, on_error: Failure | None = None,
               *, key: str | None = None) -> bool:
        """Queue `fn`; returns False when a job with the same key is still running or the runner is closed."""
        with self._lock:
            if self._closed or (key is not None and key in self._running):
                return False
            if key is not None:
                self._running.add(key)
            self._unfinished += 1
            grow = self._idle == 0 and self._workers < self.max_threads
            if grow:
                self._workers += 1
            else:
                self._idle = max(0, self._idle - 1)  # an idle worker takes it
            self._jobs.put(_Job(fn, on_success, on_error, key))  # under the lock: a worker ending sees it
        if grow:
            threading.Thread(target=self._work, name="farnode-task", daemon=True).start()
        return True

    def busy(self, key: str) -> bool:
        with self._lock:
            return key in self._running

    def default_error(self, exc: BaseException) -> None:
        log.warning("a background task failed: %s: %s", type(exc).__name__, exc)
        self.failed.emit(exc)

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._workers -= 1
                        self._idle = max(0, self._idle - 1)
                        return
                continue
            try:
                value = job.fn()
            except BaseException as exc:
                self._finish(job.key, job.on_error or self.default_error, exc)
            else:
                self._finish(job.key, job.on_success, value)
            with self._lock:
                self._idle += 1

    def _finish(self, key: str | None, callback: Callable[[Any], None] | None, value: object) -> None:
        with self._lock:
            if key is not None:
                self._running.discard(key)
            self._unfinished -= 1
            self._all_done.notify_all()
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
        """Stop taking and delivering work; wait at most `timeout_ms` for the jobs under way. True when all
        finished in time; False when some still run (they are let go: daemon threads, never waited for at exit)."""
        deadline = time.monotonic() + timeout_ms / 1000
        with self._lock:
            self._closed = True
            while self._unfinished > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.info("%d background task(s) still running were let go", self._unfinished)
                    return False
                self._all_done.wait(left)
            return True
