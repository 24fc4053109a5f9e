"""What the UI asks of the headless core (farnode_desktop.core.app_core.AppCore), and the tick's snapshot."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from farnode_desktop.core.earnings.claims import ClaimService
from farnode_desktop.core.earnings.coordinator_models import Earnings
from farnode_desktop.core.earnings.ledger import Ledger
from farnode_desktop.core.earnings.network import PinnedNetworks
from farnode_desktop.core.earnings.outlook import EarningsOutlook
from farnode_desktop.core.earnings.served_work import MinutePoint
from farnode_desktop.core.earnings.wallet import Wallet
from farnode_desktop.core.events import EventBus
from farnode_desktop.core.gpus.catalog import Catalog
from farnode_desktop.core.gpus.eligibility import Eligibility
from farnode_desktop.core.gpus.nvml import GpuInventory
from farnode_desktop.core.gpus.sampler import GpuSampler
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings


class CoreApi(Protocol):
    """The AppCore surface the view-models use. Methods marked blocking run through the TaskRunner."""

    bus: EventBus
    paths: AppPaths
    settings: Settings
    ledger: Ledger
    claims: ClaimService | None
    runtime: NodeRuntime
    catalog: Catalog
    eligibility: Eligibility | None
    sampler: GpuSampler  # the first-run check reads the GPUs before the core has started

    @property
    def snoozed(self) -> bool: ...

    def start(self) -> None: ...  # blocking

    def tick(self) -> None: ...  # blocking

    def node_statuses(self) -> list[NodeStatus]: ...

    def gpu_inventory(self) -> GpuInventory | None: ...

    def planning_inventory(self) -> GpuInventory | None: ...

    def start_nodes(self) -> None: ...  # blocking

    def stop_nodes(self) -> None: ...  # blocking

    def snooze(self, choice: str, gpu: int | None = None) -> None: ...  # blocking

    def end_snooze(self, gpu: int | None = None) -> None: ...  # blocking

    def snoozed_gpus(self) -> dict[int, float]: ...

    def pause_cost(self, seconds: float) -> str: ...

    def served_rates(self) -> dict[str, float]: ...  # blocking (ledger)

    def outlook_now(self) -> EarningsOutlook: ...  # blocking (ledger, every few minutes)

    def idle_rule_problem(self) -> str: ...  # blocking (X11 or D-Bus)

    def apply_settings(self, new: Settings) -> list[str]: ...  # blocking

    def wallet_address(self) -> str | None: ...  # blocking (keyring)

    def earnings(self) -> Earnings | None: ...  # blocking (HTTP)

    def wallet_problem(self) -> str | None: ...

    def networks(self) -> PinnedNetworks: ...  # reads the installation's network manifests (small local files)

    def wallet(self) -> Wallet | None: ...  # blocking (keyring)

    def claim_service(self) -> ClaimService: ...  # blocking (HTTP)

    def throughput_history(self, node: str | None, seconds: float) -> list[MinutePoint]: ...  # blocking

    def shutdown(self) -> None: ...  # blocking

    def let_go_of_waits(self) -> None: ...  # at Quit: keyring calls still waiting end at once


@dataclass(frozen=True)
class Snapshot:
    """What one tick saw, read on the worker thread and handed to the GUI thread as a whole."""

    statuses: tuple[NodeStatus, ...] = ()
    inventory: GpuInventory | None = None
    snoozed: bool = False
    at: float = field(default_factory=time.time)
    snoozed_gpus: dict[int, float] = field(default_factory=dict)  # GPU index -> the provider's pause ends (inf: never)
    # each node's served tokens/s by the throughput chart's own route (None: not read, the nodes' own rates stand)
    served_rates: dict[str, float] | None = None
    outlook: EarningsOutlook | None = None  # the earnings forecast and the GPUs' electricity

    def rate_of(self, status: NodeStatus) -> float:
        """A node's served tokens/s: the chart's route when read, else the node's own rate."""
        if self.served_rates is None:
            return status.tokens_per_s
        return self.served_rates.get(status.name, 0.0) if status.state is NodeState.SERVING else 0.0

    @property
    def tokens_per_s(self) -> float:
        """The PC's served tokens/s: the throughput chart's latest minute (every serving node added up)."""
        return sum(self.rate_of(s) for s in self.statuses)


def take_snapshot(core: CoreApi) -> Snapshot:
    """Read the core's state (call on a worker: a supervisor's lock may be held by a slow transition)."""
    return Snapshot(tuple(core.node_statuses()), core.gpu_inventory(), core.snoozed,
                    snoozed_gpus=core.snoozed_gpus(), served_rates=core.served_rates(), outlook=core.outlook_now())
