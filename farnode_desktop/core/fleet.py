"""The fleet: one node (spec + supervisor) per eligible GPU the provider has not left out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from farnode_desktop.core.catalog import ModelSpec
from farnode_desktop.core.eligibility import Eligibility
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.node_spec import NodeSpec
from farnode_desktop.core.planner import plan_blocks
from farnode_desktop.core.settings import Settings


class Supervisor(Protocol):
    """The part of farnode_desktop.core.supervisor.NodeSupervisor the fleet drives."""

    spec: NodeSpec

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...

    def transition(self, now: float) -> None: ...

    def status(self) -> Any: ...


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
    specs: list[NodeSpec] = []
    for verdict in eligibility.eligible:
        if verdict.uuid in settings.excluded_gpus or verdict.plan is None:
            continue
        plan = verdict.plan
        blocks = plan.num_blocks if settings.blocks is None else min(settings.blocks, plan.num_blocks)
        specs.append(
            NodeSpec(
                name=f"gpu{verdict.index}",
                model=options.model_source or model.name,
                dht_prefix=options.dht_prefix,
                new_swarm=settings.new_swarm,
                initial_peers=list(settings.initial_peers),
                port=options.base_port + verdict.index if options.base_port else 0,
                device="cuda",
                cuda_visible_devices=str(verdict.index),
                num_blocks=blocks,
                torch_dtype=plan.dtype,
                quant_type=plan.quant,
                attn_cache_tokens=plan.attn_cache_tokens,
                public_name=settings.public_name,
            )
        )
    if not specs and options.allow_cpu and model.cpu_ok:
        plan = plan_blocks(model, 1 << 40, headroom_gib=0, device="cpu", quantization="none")
        specs.append(
            NodeSpec(
                name="cpu",
                model=options.model_source or model.name,
                dht_prefix=options.dht_prefix,
                new_swarm=settings.new_swarm,
                initial_peers=list(settings.initial_peers),
                port=options.base_port,
                device="cpu",
                num_blocks=settings.blocks or plan.num_blocks,
                torch_dtype=plan.dtype,
                public_name=settings.public_name,
            )
        )
    return specs


class Fleet:
    """Owns the supervisors; a lost GPU stops its node (with the reason) and the others carry on."""

    def __init__(self, bus: EventBus, factory: SupervisorFactory, specs: Iterable[NodeSpec] = ()) -> None:
        self.bus = bus
        self.factory = factory
        self.nodes: dict[str, Supervisor] = {}
        for spec in specs:
            self.add(spec)
        self._unsubscribe = bus.subscribe(self._on_gpu_lost, "gpu.lost")

    def add(self, spec: NodeSpec) -> Supervisor:
        if spec.name in self.nodes:
            raise ValueError(f"a node named {spec.name} already exists")
        supervisor = self.factory(spec)
        self.nodes[spec.name] = supervisor
        return supervisor

    def by_gpu(self) -> dict[int, Supervisor]:
        """GPU index -> its node's supervisor (what games-first pauses)."""
        found: dict[int, Supervisor] = {}
        for name, supervisor in self.nodes.items():
            if name.startswith("gpu") and name[3:].isdigit():
                found[int(name[3:])] = supervisor
        return found

    def start_all(self) -> None:
        for supervisor in self.nodes.values():
            supervisor.start()

    def stop_all(self) -> None:
        for supervisor in self.nodes.values():
            supervisor.stop()

    def transition(self, now: float) -> None:
        for supervisor in self.nodes.values():
            supervisor.transition(now)

    def statuses(self) -> dict[str, Any]:
        return {name: s.status() for name, s in self.nodes.items()}

    def close(self) -> None:
        self._unsubscribe()

    def _on_gpu_lost(self, event: Event) -> None:
        supervisor = self.nodes.get(event.source)
        if supervisor is not None:
            supervisor.stop()
            self.bus.emit(Event("gpu.node_stopped", event.source, event.reason, dict(event.data)))
