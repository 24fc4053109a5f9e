"""The fleet: one node (spec + supervisor) per eligible GPU the provider has not left out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Protocol

from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.gpus.catalog import ModelSpec
from farnode_desktop.core.gpus.eligibility import Eligibility, GpuVerdict
from farnode_desktop.core.gpus.planner import plan_blocks
from farnode_desktop.core.node.factory import Swarm, node_spec
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import NodeStatus
from farnode_desktop.core.settings import Settings


class Supervisor(Protocol):
    """The part of farnode_desktop.core.node.supervisor.NodeSupervisor the fleet drives."""

    spec: NodeSpec

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...

    def transition(self, now: float) -> None: ...

    def status(self) -> NodeStatus: ...

    @property
    def server_pid(self) -> int | None:
        """The running server's pid, read without waiting for a tick (the settings window asks on the GUI thread)."""

    def close(self) -> None:
        """Let go of what the node holds (its log file) once it has stopped."""


SupervisorFactory = Callable[[NodeSpec], Supervisor]


@dataclass(frozen=True)
class FleetOptions:
    """Where the nodes' model comes from and how they meet the swarm; the rest is in Settings."""

    model_source: str | None = None  # a local folder for the model, else the catalog name
    dht_prefix: str | None = None  # required by Petals for a local folder
    base_port: int = 0  # 0: each supervisor picks a free port once and keeps it; else base_port + GPU index
    allow_cpu: bool = True  # no eligible GPU and a CPU-capable model: one "cpu" node


def build_specs(
    eligibility: Eligibility, model: ModelSpec, settings: Settings, options: FleetOptions
) -> list[NodeSpec]:
    """One NodeSpec per eligible, not-left-out GPU: its own CUDA device, port, name and so working folder."""
    specs = [gpu_spec(verdict, model, settings, options) for verdict in eligibility.eligible
             if verdict.uuid not in settings.excluded_gpus and verdict.plan is not None]
    if not specs and options.allow_cpu and model.cpu_ok:
        plan = plan_blocks(model, 1 << 40, headroom_gib=0, device="cpu", quantization="none")
        specs.append(node_spec("cpu", options.model_source or model.name, _swarm(settings), plan=plan,
                               blocks=settings.blocks or None, dht_prefix=options.dht_prefix,
                               port=options.base_port, public_name=settings.public_name))
    return specs


def gpu_spec(verdict: GpuVerdict, model: ModelSpec, settings: Settings, options: FleetOptions,
             blocks: int | None = None) -> NodeSpec:
    """The node the fleet runs on one eligible GPU (`blocks`: a choice that overrides Settings', still capped)."""
    return node_spec(
        f"gpu{verdict.index}",
        options.model_source or model.name,
        _swarm(settings),
        gpu=verdict.index,
        plan=verdict.plan,
        blocks=settings.blocks if blocks is None else blocks,
        dht_prefix=options.dht_prefix,
        port=options.base_port + verdict.index if options.base_port else 0,
        public_name=settings.public_name,
    )


def _swarm(settings: Settings) -> Swarm:
    return Swarm(settings.new_swarm, tuple(settings.initial_peers))


def same_launch(running: NodeSpec, wanted: NodeSpec) -> bool:
    """Whether a node running `running` already runs what `wanted` asks (port 0 = "keep the port it has")."""
    a, b = asdict(running), asdict(wanted)
    if wanted.port == 0:
        a.pop("port")
        b.pop("port")
    return a == b


@dataclass(frozen=True)
class FleetChanges:
    """What a settings change does to the nodes: which restart (with their new spec), start, stop or stay."""

    restart: dict[str, NodeSpec] = field(default_factory=dict)
    add: tuple[NodeSpec, ...] = ()
    remove: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()

    @property
    def touched(self) -> list[str]:
        return sorted([*self.restart, *(s.name for s in self.add), *self.remove])


def plan_changes(running: Mapping[str, NodeSpec], before: Iterable[NodeSpec], after: Iterable[NodeSpec]) -> FleetChanges:
    """Compare, per node, the launch it should run with the one it runs.

    `before` and `after` are the specs the old and the new settings give on the same GPU readings. A node whose
    spec the settings change leaves alone keeps running even where live readings (free VRAM) would plan it a
    little differently today: only a change of the provider's own choices interrupts serving.
    """
    old = {s.name: s for s in before}
    restart: dict[str, NodeSpec] = {}
    add: list[NodeSpec] = []
    keep: list[str] = []
    wanted = {s.name: s for s in after}
    for name, spec in wanted.items():
        current = running.get(name)
        if current is None:
            add.append(spec)
        elif (name in old and same_launch(old[name], spec)) or same_launch(current, spec):
            keep.append(name)
        else:
            restart[name] = spec
    remove = tuple(name for name in running if name not in wanted)
    return FleetChanges(restart, tuple(add), remove, tuple(keep))


@dataclass
class Retiring:
    """A node being stopped to be relaunched with `spec` (None: to be left out), and whether it should run then."""

    spec: NodeSpec | None
    run: bool


@dataclass(frozen=True)
class Swapped:
    """A retired supervisor that has stopped, and its successor (None when the node was left out)."""

    name: str
    old: Supervisor
    new: Supervisor | None
    run: bool


class Fleet:
    """Owns the supervisors; a lost GPU stops its node (with the reason) and the others carry on.

    A node can be *retiring*: told to stop so that a new supervisor with a new spec replaces it once it has
    stopped (`swap_stopped`, called from the tick). Nothing waits for the stop. Meanwhile start/stop go to the
    successor's wish, not to the stopping supervisor.
    """

    def __init__(self, bus: EventBus, factory: SupervisorFactory, specs: Iterable[NodeSpec] = ()) -> None:
        self.bus = bus
        self.factory = factory
        self.nodes: dict[str, Supervisor] = {}
        self.retiring: dict[str, Retiring] = {}
        for spec in specs:
            self.add(spec)
        self._unsubscribe = bus.subscribe(self._on_gpu_lost, "gpu.lost")

    def add(self, spec: NodeSpec) -> Supervisor:
        if spec.name in self.nodes:
            raise ValueError(f"a node named {spec.name} already exists")
        supervisor = self.factory(spec)
        self.nodes[spec.name] = supervisor
        return supervisor

    def retire(self, name: str, spec: NodeSpec | None, run: bool) -> None:
        """Stop the node now; once stopped it is replaced by one running `spec` (started when `run`) or dropped."""
        pending = self.retiring.get(name)
        if pending is not None:
            pending.spec = spec  # a second change before the first restart finished: the latest spec wins
            return
        self.retiring[name] = Retiring(spec, run)
        self.nodes[name].stop()

    def swap_stopped(self, stopped: Callable[[Supervisor], bool]) -> list[Swapped]:
        """Replace every retiring node whose supervisor has stopped; the caller starts or pauses the new ones."""
        done: list[Swapped] = []
        for name, pending in list(self.retiring.items()):
            old = self.nodes[name]
            if not stopped(old):
                continue
            del self.retiring[name]
            if pending.spec is None:
                del self.nodes[name]
                done.append(Swapped(name, old, None, pending.run))
            else:
                new = self.factory(pending.spec)
                self.nodes[name] = new
                done.append(Swapped(name, old, new, pending.run))
        return done

    def active(self) -> dict[str, Supervisor]:
        """The nodes that are not retiring (what pauses and the provider's controls act on)."""
        return {n: s for n, s in self.nodes.items() if n not in self.retiring}

    def by_gpu(self, include_retiring: bool = False) -> dict[int, Supervisor]:
        """GPU index -> its node's supervisor (what games-first pauses); retiring nodes only when asked."""
        found: dict[int, Supervisor] = {}
        for name, supervisor in self.nodes.items():
            index = gpu_index(name)
            if index is not None and (include_retiring or name not in self.retiring):
                found[index] = supervisor
        return found

    def start_all(self, start: Callable[[Supervisor], None] | None = None) -> None:
        """Start every node (through `start` when given: AppCore pauses the ones a pause holds)."""
        for pending in self.retiring.values():
            pending.run = True
        for supervisor in self.active().values():
            if start is not None:
                start(supervisor)
            else:
                supervisor.start()

    def stop_all(self) -> None:
        for pending in self.retiring.values():
            pending.run = False
        for supervisor in self.active().values():
            supervisor.stop()

    def transition(self, now: float) -> None:
        for supervisor in self.nodes.values():
            supervisor.transition(now)

    def statuses(self) -> dict[str, NodeStatus]:
        return {name: s.status() for name, s in self.nodes.items()}

    def close(self) -> None:
        self._unsubscribe()

    def _on_gpu_lost(self, event: Event) -> None:
        supervisor = self.nodes.get(event.source)
        if supervisor is not None:
            supervisor.stop()
            self.bus.emit(Event("gpu.node_stopped", event.source, event.reason, dict(event.data)))


def gpu_index(name: str) -> int | None:
    """The GPU a node runs on, from its name ("gpu1" -> 1); None for the CPU node."""
    return int(name[3:]) if name.startswith("gpu") and name[3:].isdigit() else None
