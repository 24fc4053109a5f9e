"""The one bridge from the core's EventBus to Qt: every core event is re-emitted as a signal on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from farnode_desktop.core.events import Event, EventBus


class CoreBridge(QObject):
    """Subscribes to the bus; the core emits on its own threads and Qt queues the signal to the GUI thread.

    `any_event` carries every event; the topic signals below are conveniences for the common ones.
    """

    any_event = Signal(object)
    node_state = Signal(object)  # node.state
    gpu_telemetry = Signal(object)  # gpu.telemetry (data["inventory"])
    gpu_pause = Signal(object)  # gpu.paused / gpu.resumed / gpu.vram_*
    wallet = Signal(object)  # wallet.*
    claim = Signal(object)  # claim.* and payout.confirmed

    _relay = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus = bus
        # A signal emitted from another thread on an object living on the GUI thread is delivered through
        # the GUI thread's event loop (AutoConnection = queued across threads): slots never run elsewhere.
        self._relay.connect(self._dispatch)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        self._relay.emit(event)

    def _dispatch(self, event: Event) -> None:
        self.any_event.emit(event)
        topic = event.topic
        if topic == "node.state":
            self.node_state.emit(event)
        elif topic == "gpu.telemetry":
            self.gpu_telemetry.emit(event)
        elif topic.startswith("gpu."):
            self.gpu_pause.emit(event)
        elif topic.startswith("wallet."):
            self.wallet.emit(event)
        elif topic.startswith(("claim.", "payout.")):
            self.claim.emit(event)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
