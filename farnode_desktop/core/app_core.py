"""The app's headless heart: settings, GPUs, one supervised node per GPU, games first, wallet, ledger, earnings.

The desktop UI, the demo and tests drive this one object. It never imports Qt; `tick()` and every blocking call
(NVML, keyring, HTTP, chain) are meant to run off the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from farnode_desktop.core.catalog import Catalog
from farnode_desktop.core.claims import ClaimService
from farnode_desktop.core.clock import Clock, SystemClock
from farnode_desktop.core.coordinator import CoordinatorClient
from farnode_desktop.core.coordinator_models import Earnings
from farnode_desktop.core.eligibility import Eligibility, assess, detect_wsl
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.fleet import Fleet, FleetOptions, build_specs
from farnode_desktop.core.games_first import GamesFirst, process_tree
from farnode_desktop.core.gpu import GpuInventory, GpuReader, with_free
from farnode_desktop.core.gpu_sampler import GpuSampler
from farnode_desktop.core.ledger import Ledger
from farnode_desktop.core.node_spec import NodeSpec
from farnode_desktop.core.node_status import RUNNING_STATES, NodeState, NodeStatus
from farnode_desktop.core.nodes import TINY_DEMO, dht_prefix_for, make_supervisor, resolve_model
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.payouts import ChainReader
from farnode_desktop.core.runtime import NodeRuntime, runtime_flavour
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.core.supervisor import NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.wallet import Wallet

SERVED_WORK_PERIOD_S = 60.0  # served work is written to the ledger in one-minute periods
GAMES_FIRST_PERIOD_S = 2.0
SNOOZE_CHOICES = {"30m": "30 min", "1h": "1 h", "2h": "2 h", "until_resume": "until restart"}
SNOOZE_SECONDS = {"30m": 1800.0, "1h": 3600.0, "2h": 7200.0}


class AppCore:
    """One object for the whole app; the UI binds view-models to it and ticks it from a worker."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        bus: EventBus | None = None,
        nvml: Any = None,
        keystore: Any = None,
        runtime: NodeRuntime | None = None,
        clock: Clock | None = None,
        policy: SupervisorPolicy | None = None,
        supervisor_factory: Callable[[NodeSpec], NodeSupervisor] | None = None,
        sample_gpus: bool = True,
        wallet_service: str | None = None,
        served_work_period_s: float = SERVED_WORK_PERIOD_S,
    ) -> None:
        self.paths = paths.ensure()
        self.bus = bus or EventBus()
        self.clock = clock or SystemClock()
        self.store = SettingsStore(paths.config_file)
        self.settings: Settings = Settings()
        self._runtime_injected = runtime is not None
        self.runtime = runtime or NodeRuntime(paths.runtime)
        self.ledger = Ledger(paths.ledger_file)
        self.catalog = Catalog.load()
        self.sampler = GpuSampler(GpuReader(nvml), self.bus)
        self._sample_gpus = sample_gpus
        self._keystore = keystore
        self._wallet_service = wallet_service
        self.served_work_period_s = served_work_period_s
        self._policy = policy
        self._factory = supervisor_factory
        self.fleet = Fleet(self.bus, self._make_supervisor)
        self.games_first = GamesFirst(self.bus, self.clock, lambda: self.settings, self.sampler.latest,
                                      lambda: self.fleet.by_gpu())  # noqa: PLW0108 (fleet is replaced)
        self.eligibility: Eligibility | None = None
        self.claims: ClaimService | None = None
        self._wallet: Wallet | None = None
        self._wallet_error: str | None = None
        self._lock = threading.RLock()
        self._last_games_first = 0.0
        self._periods: dict[str, tuple[float, int, str]] = {}  # node -> (period start, tokens at start, peer)
        self._snoozed_until: float | None = None
        self._gpu_snoozes: dict[int, float] = {}
        self._started = False

    # ----- lifecycle -----
    def start(self, serve: bool | None = None) -> None:
        """Load settings, read the GPUs, build one node per eligible GPU (or a CPU node for the demo model)."""
        with self._lock:
            self.settings = self.store.load()
            inventory = self.sampler.sample_once()
            if self._sample_gpus:
                self.sampler.start()
            self._build_fleet(inventory)
            self._started = True
            if serve if serve is not None else self.settings.serve_on_launch:
                self.fleet.start_all()

    def _build_fleet(self, inventory: GpuInventory) -> None:
        if not self._runtime_injected:  # the runtime's torch build follows the hardware: CUDA for NVIDIA GPUs
            self.runtime = NodeRuntime(self.paths.runtime, flavour=runtime_flavour(bool(inventory.gpus)))
        model = self.catalog.get(self.settings.model)
        self.eligibility = assess(inventory, model, self.settings, wsl=detect_wsl())
        source, prefix = None, None
        if self.settings.model == TINY_DEMO:
            source, _ = resolve_model(TINY_DEMO, self.paths, self.runtime)
            prefix = dht_prefix_for(source)
        specs = build_specs(self.eligibility, model, self.settings, FleetOptions(model_source=source,
                                                                                dht_prefix=prefix))
        for spec in specs:
            if spec.new_swarm:
                spec.listen_host = "127.0.0.1"  # a private swarm stays on this PC
            if spec.device == "cpu":
                spec.throughput, spec.num_handlers = "1.0", 2
            self.fleet.add(spec)

    def _make_supervisor(self, spec: NodeSpec) -> NodeSupervisor:
        if self._factory is not None:
            return self._factory(spec)
        return make_supervisor(spec, self.paths, self.bus, self.runtime, policy=self._policy)

    def tick(self) -> None:
        """Advance every node's state machine, apply games-first, record served work. Call off the GUI thread."""
        with self._lock:
            if not self._started:
                return
            now = self.clock.monotonic()
            self.fleet.transition(now)
            self._end_expired_snoozes()
            if now - self._last_games_first >= GAMES_FIRST_PERIOD_S:
                self._last_games_first = now
                self.games_first.tick()
            self._record_served_work()

    def shutdown(self, timeout_s: float = 60.0) -> None:
        """Stop every node and wait until no server process is left; stop the sampler."""
        with self._lock:
            self.fleet.stop_all()
            deadline = self.clock.monotonic() + timeout_s
            while self.clock.monotonic() < deadline:
                self.fleet.transition(self.clock.monotonic())
                if all(s.status().state in (NodeState.STOPPED, NodeState.FAILED, NodeState.PAUSED)
                       for s in self.fleet.nodes.values()):
                    break
                self.clock.sleep(0.2)
            self._record_served_work(final=True)
            self.sampler.stop()
            self.fleet.close()
            for supervisor in self.fleet.nodes.values():
                close = getattr(supervisor, "close", None)
                if close is not None:
                    close()
            self.ledger.close()

    # ----- nodes -----
    def node_statuses(self) -> list[NodeStatus]:
        return [s.status() for s in self.fleet.nodes.values()]

    def gpu_inventory(self) -> GpuInventory | None:
        return self.sampler.latest()

    def planning_inventory(self) -> GpuInventory | None:
        """The GPUs as the planner should see them: VRAM held by FarNode's own nodes counts as free.

        Planning from live free memory while a node serves would otherwise count that node against itself.
        """
        inventory = self.sampler.latest()
        if inventory is None:
            return None
        ours: set[int] = set()
        for supervisor in self.fleet.nodes.values():
            # the settings window asks on the GUI thread: do not wait for a supervisor's tick to let go
            pid = supervisor.server_pid if hasattr(supervisor, "server_pid") else supervisor.status().pid
            if pid:
                ours |= process_tree(pid)
        gpus = []
        for gpu in inventory.gpus:
            held = sum(p.used_bytes or 0 for p in gpu.processes if p.pid in ours)
            gpus.append(with_free(gpu, min(gpu.total_bytes, gpu.free_bytes + held)) if held else gpu)
        return replace(inventory, gpus=tuple(gpus))

    @property
    def snoozed(self) -> bool:
        """True while the provider's own pause (30 min / 1 h / 2 h / until resumed) is in force."""
        return self._snoozed_until is not None and self.clock.wall() < self._snoozed_until

    def start_nodes(self) -> None:
        self._snoozed_until = None
        self.games_first.end_snooze()
        self.fleet.start_all()

    def stop_nodes(self) -> None:
        self.fleet.stop_all()

    def snooze(self, choice: str, gpu: int | None = None) -> None:
        """Pause every node, or one GPU's node, for a while ("30m", "1h", "2h", "until_resume")."""
        if choice not in SNOOZE_CHOICES:
            raise FarNodeError(f"unknown pause length {choice!r}", hint="choose 30m, 1h, 2h or until_resume")
        targets = self._targets(gpu)
        self.games_first.snooze(SNOOZE_CHOICES[choice], gpu)
        seconds = SNOOZE_SECONDS.get(choice)
        until = self.clock.wall() + seconds if seconds else float("inf")
        if gpu is None:
            self._snoozed_until = until
        else:
            self._gpu_snoozes[gpu] = until
        label = "until you resume" if seconds is None else f"for {SNOOZE_CHOICES[choice]}"
        for supervisor in targets:
            supervisor.pause(f"paused by you {label}")
        self.bus.emit(Event("gpu.paused", "all" if gpu is None else f"gpu{gpu}", f"paused by you {label}",
                            {"choice": choice}))

    def end_snooze(self, gpu: int | None = None) -> None:
        """Resume what `snooze` paused (every node, or one GPU's node)."""
        if gpu is None:
            self._snoozed_until = None
            self._gpu_snoozes.clear()
        else:
            self._gpu_snoozes.pop(gpu, None)
        self.games_first.end_snooze(gpu)
        for supervisor in self._targets(gpu):
            if supervisor.status().state is NodeState.PAUSED:
                supervisor.resume("resumed by you")
        self.bus.emit(Event("gpu.resumed", "all" if gpu is None else f"gpu{gpu}", "resumed by you"))

    def snoozed_gpus(self) -> dict[int, float]:
        """GPU index -> when its own pause ends (wall time; inf = until resumed)."""
        return dict(self._gpu_snoozes)

    def _targets(self, gpu: int | None) -> list[Any]:
        if gpu is None:
            return list(self.fleet.nodes.values())
        node = self.fleet.by_gpu().get(gpu)
        if node is None:
            raise FarNodeError(f"there is no node on GPU {gpu}", hint="see the dashboard for the GPUs that serve")
        return [node]

    def _end_expired_snoozes(self) -> None:
        """A timed pause ends by itself (games-first resumes GPU nodes; the CPU node is resumed here)."""
        wall = self.clock.wall()
        if self._snoozed_until is not None and wall >= self._snoozed_until:
            self.end_snooze()
        for gpu, until in list(self._gpu_snoozes.items()):
            if wall >= until:
                self.end_snooze(gpu)

    def tokens_per_s(self) -> float:
        return sum(s.tokens_per_s for s in self.node_statuses() if s.state in RUNNING_STATES)

    def pause_cost(self, seconds: float) -> str:
        """What a pause of `seconds` costs, in served tokens at the current rate (and FAR at the network rate)."""
        rate = self.tokens_per_s()
        tokens = rate * seconds
        if rate <= 0:
            return "nothing is being served right now, so pausing costs nothing"
        return f"a {_duration(seconds)} pause = about {tokens:,.0f} served tokens"

    # ----- settings -----
    def apply_settings(self, new: Settings) -> list[str]:
        """Save the settings; restart only the nodes whose launch arguments change. Returns the restarted names."""
        with self._lock:
            new.validate()
            old = self.settings
            self.store.save(new)
            self.settings = new
            relaunch_fields = ("model", "excluded_gpus", "blocks", "headroom_gib", "quantization",
                               "initial_peers", "new_swarm", "public_name")
            if not self._started or all(getattr(old, f) == getattr(new, f) for f in relaunch_fields):
                return []
            running = [n for n, s in self.fleet.nodes.items() if s.status().state not in
                       (NodeState.STOPPED, NodeState.FAILED)]
            self.fleet.stop_all()
            deadline = self.clock.monotonic() + 60
            while self.clock.monotonic() < deadline and any(
                    s.status().state not in (NodeState.STOPPED, NodeState.FAILED) for s in self.fleet.nodes.values()):
                self.fleet.transition(self.clock.monotonic())
                self.clock.sleep(0.2)
            self.fleet.close()
            self.fleet = Fleet(self.bus, self._make_supervisor)
            self.games_first = GamesFirst(self.bus, self.clock, lambda: self.settings, self.sampler.latest,
                                          lambda: self.fleet.by_gpu())  # noqa: PLW0108 (fleet is replaced)
            self._build_fleet(self.sampler.latest() or self.sampler.sample_once())
            if running:
                self.fleet.start_all()
            return running

    # ----- wallet and earnings -----
    def wallet(self) -> Wallet | None:
        """The keyring wallet, or None with `wallet_problem()` saying why (locked or insecure keyring)."""
        if self._wallet is None:
            try:
                from farnode_desktop.core.keystore import system_keyring

                backend = self._keystore if self._keystore is not None else system_keyring()
                self._wallet = (Wallet(backend, self.bus, service=self._wallet_service) if self._wallet_service
                                else Wallet(backend, self.bus))
                self._wallet_error = None
            except FarNodeError as exc:
                self._wallet_error = str(exc)
                return None
        return self._wallet

    def wallet_problem(self) -> str | None:
        return self._wallet_error

    def wallet_address(self) -> str | None:
        wallet = self.wallet()
        if wallet is None:
            return None
        try:
            return wallet.address() if wallet.exists() else None
        except FarNodeError as exc:
            self._wallet_error = str(exc)
            return None

    def coordinator(self) -> CoordinatorClient:
        return CoordinatorClient(self.settings.coordinator_url)

    def earnings(self) -> Earnings | None:
        """Fresh earnings from the coordinator (blocking); offline, the last snapshot in the ledger."""
        address = self.wallet_address()
        if address is None:
            return None
        try:
            earnings = self.coordinator().earnings(address)
        except FarNodeError:
            cached = self.ledger.latest_earnings(address)
            return Earnings.parse(cached[1]) if cached else None
        self.ledger.record_earnings(earnings)
        return earnings

    def claim_service(self) -> ClaimService:
        wallet = self.wallet()
        if wallet is None or not wallet.exists():
            raise FarNodeError("there is no wallet to claim to", hint="create or import a wallet first")
        client = self.coordinator()
        rpc = self.settings.chain_rpc_url or client.network().rpc_url
        self.claims = ClaimService(wallet, client, self.ledger, ChainReader(rpc), bus=self.bus)
        return self.claims

    def bind_nodes(self) -> list[str]:
        """Bind every serving node's peer id to the wallet (so the coordinator pays its work to this wallet)."""
        wallet = self.wallet()
        if wallet is None or not wallet.exists():
            return []
        client = self.coordinator()
        bound = []
        for status in self.node_statuses():
            if status.peer_id:
                client.bind_node(wallet, status.peer_id)
                bound.append(status.peer_id)
        return bound

    def throughput_history(self, node: str | None, seconds: float) -> list[tuple[float, float]]:
        """(wall time, served tokens/s) per recorded minute within the last `seconds`, from the ledger."""
        since = self.clock.wall() - seconds
        points = []
        for work in self.ledger.served_work(node):
            if work.period_end < since:
                continue
            length = max(1.0, work.period_end - work.period_start)
            points.append((work.period_end, work.tokens / length))
        return points

    def _record_served_work(self, final: bool = False) -> None:
        wall = self.clock.wall()
        for status in self.node_statuses():
            if not status.peer_id:
                continue
            start, base, peer = self._periods.get(status.name, (wall, status.served_tokens, status.peer_id))
            if status.name not in self._periods:
                self._periods[status.name] = (start, base, peer)
            base = min(base, status.served_tokens)  # counters are cumulative per supervisor
            if final or wall - start >= self.served_work_period_s:
                tokens = status.served_tokens - base
                if tokens > 0:
                    blocks = (status.end_block or 0) - (status.start_block or 0)
                    self.ledger.record_served_work(status.name, status.peer_id, period_start=start,
                                                   period_end=wall, tokens=tokens, blocks=max(blocks, 0))
                self._periods[status.name] = (wall, status.served_tokens, status.peer_id)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        hours = seconds / 3600
        return f"{hours:g} h"
    return f"{seconds / 60:.0f} min"

