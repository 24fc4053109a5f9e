"""A scripted node for UI tests and the GUI benchmark: the GPU a real node would need is not on this machine,
so this stands in for the supervisor at that boundary. It walks the real states and emits the real events."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import Clock, SystemClock
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.pausing.signals.choose import PcSignals
from farnode_desktop.core.settings import Settings, SettingsStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvml"
BIG_MODEL = "meta-llama/Meta-Llama-3.1-70B-Instruct"


class ScriptedSupervisor:
    """STOPPED -> STARTING -> LOADING -> SERVING on a timeline; pause/resume/stop/fail like the real one."""

    def __init__(self, spec: NodeSpec, bus: EventBus, clock: Clock | None = None, *, rate: float = 850.0,
                 start_block: int = 0, load_s: float = 1.0, serve_s: float = 2.0, stop_s: float = 0.0) -> None:
        self.spec = spec
        self.bus = bus
        self.clock = clock or SystemClock()
        self.rate = rate
        self.start_block = start_block
        self.end_block = start_block + (spec.num_blocks or 8)
        self.load_s, self.serve_s = load_s, serve_s
        self.stop_s = stop_s  # a real server takes seconds to stop (Petals' graceful path): STOPPING that long
        self._lock = threading.RLock()
        self._state = NodeState.STOPPED
        self._reason, self._hint = "not started", ""
        self._want = "stop"
        self._since = self.clock.monotonic()
        self._served = 0.0
        self._last = self.clock.monotonic()
        self._serving_since: float | None = None
        self.peer_id = "12D3KooW" + hashlib.sha256(spec.name.encode()).hexdigest()[:36]

    def _set(self, state: NodeState, reason: str, hint: str = "") -> None:
        previous = self._state
        self._state, self._reason, self._hint = state, reason, hint
        self._since = self.clock.monotonic()
        self._serving_since = self._since if state is NodeState.SERVING else None
        self.bus.emit(Event("node.state", self.spec.name, reason,
                            {"state": state.value, "previous": previous.value, "hint": hint}, self.clock.wall()))

    def start(self) -> None:
        with self._lock:
            self._want = "run"
            if self._state in (NodeState.STOPPED, NodeState.FAILED, NodeState.PAUSED):
                self._set(NodeState.STARTING, "started by the provider")

    def stop(self) -> None:
        with self._lock:
            self._want = "stop"
            running = self._state in (NodeState.STARTING, NodeState.LOADING, NodeState.SERVING)
            if self.stop_s > 0 and running:
                self._set(NodeState.STOPPING, "stopping: stopped by the provider")
            elif self._state not in (NodeState.STOPPED, NodeState.STOPPING):
                self._set(NodeState.STOPPED, "stopped by the provider")

    def pause(self, reason: str) -> None:
        with self._lock:
            self._want = "pause"
            if self._state is not NodeState.PAUSED:
                self._set(NodeState.PAUSED, reason)

    def resume(self, reason: str) -> None:
        with self._lock:
            self._want = "run"
            if self._state in (NodeState.PAUSED, NodeState.STOPPED):
                self._set(NodeState.STARTING, reason)

    def fail(self, reason: str, hint: str) -> None:
        with self._lock:
            self._want = "stop"
            self._set(NodeState.FAILED, reason, hint)

    def transition(self, now: float) -> None:
        with self._lock:
            elapsed = now - self._since
            if self._state is NodeState.STOPPING and elapsed >= self.stop_s:
                self._set(NodeState.STOPPED, "stopped by the provider")
                if self._want == "run":  # started again while it stopped: the real supervisor launches it now
                    self._set(NodeState.STARTING, "started by the provider")
            if self._state is NodeState.STARTING and elapsed >= self.load_s:
                self._set(NodeState.LOADING, f"loading blocks {self.start_block}-{self.end_block}")
            elif self._state is NodeState.LOADING and elapsed >= self.serve_s:
                self._set(NodeState.SERVING, f"serving blocks {self.start_block}-{self.end_block - 1}")
            if self._state is NodeState.SERVING:
                self._served += self.rate * max(0.0, now - self._last)
            self._last = now

    server_pid = None  # no server process: the timeline is scripted

    def close(self) -> None:
        return

    def status(self) -> NodeStatus:
        with self._lock:
            serving = self._state is NodeState.SERVING
            uptime = self.clock.monotonic() - self._serving_since if self._serving_since is not None else 0.0
            known = self._state in (NodeState.SERVING, NodeState.PAUSED) or self._served > 0
            return NodeStatus(
                name=self.spec.name, state=self._state, reason=self._reason, hint=self._hint,
                pid=None, peer_id=self.peer_id if known else None, model=self.spec.model,
                start_block=self.start_block if known else None, end_block=self.end_block if known else None,
                served_tokens=int(self._served), tokens_per_s=self.rate if serving else 0.0,
                requests=int(self._served // 120), uptime_s=round(uptime, 1), updated_at=self.clock.wall(),
                stop_requested=self._want == "stop",
            )


def make_core(home: Path, *, fixture: str = "linux_rtx4090_rtx3060.json", settings: Settings | None = None,
              keystore: object = None, wallet_service: str | None = None, rates: tuple[float, ...] = (850.0, 310.0),
              sample_gpus: bool = False, stop_s: float = 0.0, signals: PcSignals | None = None) -> AppCore:
    """A real AppCore on GPUs read from a recorded NVML snapshot, with scripted nodes on them."""
    paths = AppPaths.under(home).ensure()
    SettingsStore(paths.config_file).save(settings or Settings(model=BIG_MODEL, new_swarm=True,
                                                               serve_on_launch=False))
    bus = EventBus()
    made: list[ScriptedSupervisor] = []

    def factory(spec: NodeSpec) -> ScriptedSupervisor:
        sup = ScriptedSupervisor(spec, bus, rate=rates[len(made) % len(rates)], start_block=12 * len(made),
                                 stop_s=stop_s)
        made.append(sup)
        return sup

    core = AppCore(paths, bus=bus, nvml=FakeNvml.from_file(FIXTURES / fixture), keystore=keystore,
                   supervisor_factory=factory, sample_gpus=sample_gpus,  # type: ignore[arg-type]
                   wallet_service=wallet_service, signals=signals)
    core.scripted = made  # type: ignore[attr-defined]
    return core
