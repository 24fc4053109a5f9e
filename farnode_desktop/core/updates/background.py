"""The background update check: at the app's start and every few hours, on a worker thread of its own, so neither
the GUI nor the nodes ever wait for an update server."""

from __future__ import annotations

import threading
from collections.abc import Callable

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.updates.client import MODEL_CATALOG, CheckResult

CHECK_PERIOD_S = 4 * 3600.0


class UpdateWatch:
    """`tick(now)` (monotonic seconds) starts a check when one is due and none is running; it never blocks.
    A problem or a newly installed manifest/catalog is told on the bus (topic `update.problem`, with `refused`
    true when the server offered something that failed verification, / `update.installed`)."""

    def __init__(self, check: Callable[[], CheckResult], bus: EventBus, period_s: float = CHECK_PERIOD_S,
                 on_catalog: Callable[[], None] | None = None) -> None:
        self._check = check
        self._on_catalog = on_catalog  # a verified catalog was installed: the app reads it again
        self._bus = bus
        self.period_s = period_s
        self._last_start: float | None = None
        self._thread: threading.Thread | None = None
        self.last: CheckResult | None = None

    def tick(self, now: float) -> bool:
        """Start a check if due; True when one was started."""
        if self._thread is not None and self._thread.is_alive():
            return False
        if self._last_start is not None and now - self._last_start < self.period_s:
            return False
        self._last_start = now
        self._thread = threading.Thread(target=self._run, name="update-check", daemon=True)
        self._thread.start()
        return True

    def check_soon(self) -> None:
        """The next tick starts a check, whenever the last one was (the demo has just published a release)."""
        self._last_start = None

    def _run(self) -> None:
        try:
            result = self._check()
        except Exception as exc:  # a bug in a check must not end the worker quietly: it is told
            self._bus.emit(Event("update.problem", "updates", f"the update check failed: {exc}"))
            return
        self.last = result
        if not result.ok:
            self._bus.emit(Event("update.problem", "updates", result.message, {"refused": result.refused}))
        elif result.installed:
            if MODEL_CATALOG in result.installed and self._on_catalog is not None:
                try:
                    self._on_catalog()
                except FarNodeError as exc:
                    self._bus.emit(Event("update.problem", "updates", f"the new catalog could not be read: {exc}"))
            self._bus.emit(Event("update.installed", "updates", result.message, {"installed": result.installed}))

    def join(self, timeout_s: float) -> None:
        """Wait for a check still running (the app quits); every read it makes is bounded in time."""
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
