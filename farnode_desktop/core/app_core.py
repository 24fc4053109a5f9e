"""The app's headless heart: settings, GPUs, one supervised node per GPU, games first, wallet, ledger, earnings.

The desktop UI, the demo and tests drive this one object. It never imports Qt; `tick()` and every blocking call
(NVML, keyring, HTTP, chain) are meant to run off the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from farnode_desktop.core.clock import Clock, SystemClock
from farnode_desktop.core.earnings.claim_factory import ClaimFactory
from farnode_desktop.core.earnings.claims import ClaimService
from farnode_desktop.core.earnings.coordinator import CoordinatorClient
from farnode_desktop.core.earnings.coordinator_models import Earnings
from farnode_desktop.core.earnings.duty_cycle import GAME_CODES
from farnode_desktop.core.earnings.keyring_deadline import DeadlineKeyring
from farnode_desktop.core.earnings.keystore import KeyringBackend, require_secure, system_keyring
from farnode_desktop.core.earnings.ledger import Ledger, ServedWork
from farnode_desktop.core.earnings.network import PinnedNetworks, coordinator_url, installation_networks
from farnode_desktop.core.earnings.outlook import EarningsOutlook, Outlook, pause_cost_text
from farnode_desktop.core.earnings.served_work import (
    MinutePoint,
    ServedWorkRecorder,
    per_minute,
    served_rates,
)
from farnode_desktop.core.earnings.signing_policy import WalletPolicy
from farnode_desktop.core.earnings.wallet import Wallet
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.gpus.catalog import Catalog
from farnode_desktop.core.gpus.eligibility import Eligibility, assess, detect_wsl
from farnode_desktop.core.gpus.fleet import Fleet, FleetOptions, Supervisor, build_specs, gpu_index, plan_changes
from farnode_desktop.core.gpus.nvml import GpuInventory, GpuReader, NvmlModule, with_free
from farnode_desktop.core.gpus.replan import CatalogReplan
from farnode_desktop.core.gpus.sampler import GpuSampler
from farnode_desktop.core.node.factory import TINY_DEMO, dht_prefix_for, make_supervisor, resolve_model
from farnode_desktop.core.node.model_check import refuse_unloadable
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import RUNNING_STATES, NodeState, NodeStatus
from farnode_desktop.core.node.supervisor import NodeSupervisor, SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.pausing.games_first import GamesFirst, process_tree
from farnode_desktop.core.pausing.rules import Snoozes, pause_length
from farnode_desktop.core.pausing.signals.choose import PcSignals, for_this_pc, idle_rule_problem
from farnode_desktop.core.settings import Settings, SettingsStore, relaunching_changes
from farnode_desktop.core.updates.app_update import AppUpdates
from farnode_desktop.core.updates.background import UpdateWatch
from farnode_desktop.core.updates.runtime_update import RuntimeUpdater

SERVED_WORK_PERIOD_S = 60.0  # served work is written to the ledger in one-minute periods
GAMES_FIRST_PERIOD_S = 1.0  # a game pauses the node within ~1 s of appearing; a tick costs ~2-6 ms of CPU
_STOPPED = (NodeState.STOPPED, NodeState.FAILED)


class AppCore:
    """One object for the whole app; the UI binds view-models to it and ticks it from a worker."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        bus: EventBus | None = None,
        nvml: NvmlModule | None = None,
        keystore: KeyringBackend | None = None,
        runtime: NodeRuntime | None = None,
        clock: Clock | None = None,
        policy: SupervisorPolicy | None = None,
        supervisor_factory: Callable[[NodeSpec], NodeSupervisor] | None = None,
        sample_gpus: bool = True,
        wallet_service: str | None = None,
        served_work_period_s: float = SERVED_WORK_PERIOD_S,
        signals: PcSignals | None = None,
    ) -> None:
        self.paths = paths.ensure()
        self.bus = bus or EventBus()
        self.clock = clock or SystemClock()
        self.store = SettingsStore(paths.config_file)
        self.settings: Settings = Settings()
        self.runtime = runtime or NodeRuntime(paths.runtime)
        # a damaged ledger is kept aside and a new one started: the app opens, and start() tells the provider
        self.ledger, self._ledger_problem = Ledger.open_or_set_aside(paths.ledger_file)
        self.catalog = Catalog.load(paths=self.paths)  # the verified signed catalog when the channel installed one
        self.sampler = GpuSampler(GpuReader(nvml), self.bus)
        self._sample_gpus = sample_gpus
        self._keystore = keystore
        self._wallet_service = wallet_service
        self.served_work_period_s = served_work_period_s
        self._policy = policy
        self._factory = supervisor_factory
        self.fleet = Fleet(self.bus, self._make_supervisor)
        self.pauses = Snoozes()  # the provider's own pauses: one owner, for the app's life (restarts included)
        self.recorder = ServedWorkRecorder(self.ledger, served_work_period_s)
        self.outlook = Outlook(self.paths, self.ledger, self.clock, lambda: self.settings.electricity_price_per_kwh)
        self.signals = signals if signals is not None else for_this_pc()  # idle, Steam, full screen: by OS/desktop
        self.games_first = GamesFirst(self.bus, self.clock, lambda: self.settings, self.sampler.latest,
                                      self.fleet.by_gpu, signals=self.signals, snoozes=self.pauses)
        self._idle_problem: str | None = None
        self.eligibility: Eligibility | None = None
        self.claims: ClaimService | None = None
        self._claims_thread: threading.Thread | None = None
        self._quitting = threading.Event()  # set by let_go_of_waits(): keyring calls still waiting end at once
        self._wallet: Wallet | None = None
        self._wallet_error: str | None = None
        self._lock = threading.RLock()
        self._last_games_first = 0.0
        self.app_updates = AppUpdates(self.paths, bus=self.bus)  # an installed app also stages a newer FarNode
        self.updates = UpdateWatch(self.app_updates.check, self.bus,  # at start, then every few hours
                                   on_catalog=self._reload_catalog)
        self.runtime_updates = RuntimeUpdater(self.paths, self.runtime, self._supervisors, self.bus)  # a new lock
        self.replan = CatalogReplan(self.fleet, self.bus, self._plan_with, self._launch, lambda: self.catalog,
                                    lambda: self.settings.model)  # a new catalog: changed nodes drain, relaunch
        self._started = False

    # ----- lifecycle -----
    def start(self, serve: bool | None = None) -> None:
        """Load settings, read the GPUs, build one node per eligible GPU (or a CPU node for the demo model)."""
        with self._lock:
            self.settings = self.store.load()
            if self.store.problem:  # the bad file was moved aside and defaults used: the provider must hear it
                self.bus.emit(Event("settings.problem", "app", self.store.problem))
            if self._ledger_problem:
                self.bus.emit(Event("ledger.problem", "wallet", self._ledger_problem))
                self._ledger_problem = ""
            inventory = self.sampler.sample_once()
            if self._sample_gpus:
                self.sampler.start()
            self._build_fleet(inventory)
            self._started = True
            if serve if serve is not None else self.settings.serve_on_launch:
                self.fleet.start_all()
            self._record_served_work()  # a node's first period begins when it starts
            self._resume_claims_in_background()

    def _build_fleet(self, inventory: GpuInventory) -> None:
        for spec in self._desired_specs(self.settings, inventory, remember=True):
            self.fleet.add(spec)

    def _desired_specs(self, settings: Settings, inventory: GpuInventory, remember: bool = False,
                       catalog: Catalog | None = None) -> list[NodeSpec]:
        """The launch each node should run under `settings` on these GPU readings (`remember`: as the app's own)."""
        model = (catalog or self.catalog).get(settings.model)
        eligibility = assess(inventory, model, settings, wsl=detect_wsl())
        if remember:
            self.eligibility = eligibility
        source, prefix = None, None
        if settings.model == TINY_DEMO:
            source, _ = resolve_model(TINY_DEMO, self.paths, self.runtime)
            if remember:  # the launch the app will run (not a comparison with old settings); remembered per folder
                refuse_unloadable(source, self.paths, self.runtime)
            prefix = dht_prefix_for(source)
        return build_specs(eligibility, model, settings, FleetOptions(model_source=source, dht_prefix=prefix))

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
            self.replan.tick()
            self._finish_restarts()
            self._end_expired_snoozes()
            if now - self._last_games_first >= GAMES_FIRST_PERIOD_S:
                self._last_games_first = now
                self.games_first.tick()
            self.updates.tick(now)  # on its own thread: never waits for the update server
            self.runtime_updates.tick(self.updates.last)
            self._record_served_work()
            self.outlook.observe(self.node_statuses(), self.sampler.latest(), self._gaming())  # duty cycle, energy

    def let_go_of_waits(self) -> None:
        """The app quits: keyring calls still waiting (an unlock prompt nobody sees) and every later one end now
        with KeyringUnavailable, so nothing the shutdown waits for is held by the keyring."""
        self._quitting.set()

    def shutdown(self, timeout_s: float = 60.0) -> None:
        """Stop every node and wait until no server process is left; stop the sampler."""
        with self._lock:
            self._record_served_work(final=True)  # before the nodes stop: nothing served is left unrecorded
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
                supervisor.close()
            if self._claims_thread is not None:
                self._claims_thread.join(timeout=40)  # every read it makes is bounded to 30 s
            self.updates.join(timeout_s=5)  # a check still running is a daemon thread; what it wrote is atomic
            self.runtime_updates.join(timeout_s=5)  # a prepare still running stops; the next start settles
            self.outlook.close()
            self.signals.close()  # the X connection and the bus socket the readers hold
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
            pid = supervisor.server_pid
            if pid:
                ours |= process_tree(pid)
        gpus = []
        for gpu in inventory.gpus:
            held = sum(p.used_bytes or 0 for p in gpu.processes if p.pid in ours)
            gpus.append(with_free(gpu, min(gpu.total_bytes, gpu.free_bytes + held)) if held else gpu)
        return replace(inventory, gpus=tuple(gpus))

    @property
    def snoozed(self) -> bool:
        """True while the provider's own pause of every node (one of rules.PAUSE_LENGTHS) is in force."""
        return self.pauses.whole(self.clock.wall()) is not None

    def start_nodes(self) -> None:
        """Serve again: ends the pause of every node; a GPU the provider paused on its own stays paused."""
        with self._lock:
            self.pauses.end()
            self.fleet.start_all(lambda supervisor: self._launch(supervisor, run=True))

    def stop_nodes(self) -> None:
        with self._lock:
            self.fleet.stop_all()

    def snooze(self, choice: str, gpu: int | None = None) -> None:
        """Pause every node, or one GPU's node, for one of the pause lengths (rules.PAUSE_LENGTHS: a key or label)."""
        length = pause_length(choice)
        with self._lock:
            targets = self._targets(gpu)
            self.pauses.set(length.key, self.clock.wall(), gpu)
            for supervisor in targets:
                supervisor.pause(length.reason)
        self.bus.emit(Event("gpu.paused", "all" if gpu is None else f"gpu{gpu}", length.reason,
                            {"choice": length.key}))

    def end_snooze(self, gpu: int | None = None) -> None:
        """Resume what `snooze` paused: one GPU's node, or (gpu None, the tray's Resume) every pause of yours."""
        with self._lock:
            if gpu is None:
                self.pauses.end_all()
            else:
                self.pauses.end(gpu)
            self._resume_unheld(gpu, "resumed by you")

    def _resume_unheld(self, gpu: int | None, reason: str) -> None:
        for supervisor in self._targets(gpu):
            # a node still held (another pause of yours, a game, the schedule, heat) stays paused until that ends
            if supervisor.status().state is NodeState.PAUSED and self._pause_reason(supervisor.spec.name) is None:
                supervisor.resume(reason)
        self.bus.emit(Event("gpu.resumed", "all" if gpu is None else f"gpu{gpu}", reason))

    def snoozed_gpus(self) -> dict[int, float]:
        """GPU index -> when its own pause ends (wall time; inf = until resumed)."""
        return self.pauses.gpus()

    def _targets(self, gpu: int | None) -> list[Supervisor]:
        """The nodes a pause acts on now; a node being restarted gets the pause when its successor starts."""
        if gpu is None:
            return list(self.fleet.active().values())
        if gpu not in self.fleet.by_gpu(include_retiring=True):
            raise FarNodeError(f"there is no node on GPU {gpu}", hint="see the dashboard for the GPUs that serve")
        node = self.fleet.by_gpu().get(gpu)
        return [node] if node is not None else []

    def _end_expired_snoozes(self) -> None:
        """A timed pause ends by itself (games-first resumes GPU nodes; the CPU node is resumed here)."""
        for gpu in self.pauses.expired(self.clock.wall()):
            self.pauses.end(gpu)  # only this pause: a GPU's own pause outlasts a shorter pause of every node
            self._resume_unheld(gpu, "your pause ended")

    def _pause_reason(self, name: str) -> str | None:
        """Why a node should be paused right now (the provider's pause, or games-first's), or None."""
        index = gpu_index(name)
        snooze = self.pauses.active_for(index, self.clock.wall())
        if snooze is not None:
            return snooze.reason or snooze.describe()
        policy = self.games_first.policies.get(index) if index is not None else None
        if policy is not None and policy.paused is not None and policy.paused.code != "snooze":
            return policy.paused.reason  # (its snooze decisions mirror self.pauses, asked above)
        return None

    def _gaming(self) -> bool:
        """Whether games first holds a GPU for a game or another program (the duty cycle tells it apart)."""
        return any(p.paused is not None and p.paused.code in GAME_CODES for p in self.games_first.policies.values())

    def served_rates(self) -> dict[str, float]:
        """Each node's served tokens/s over the last minute: the throughput chart's latest point (one route)."""
        now = self.clock.wall()
        return served_rates(self._served_work_now(None, now - 120.0, now), now)

    def tokens_per_s(self) -> float:
        running = {s.name for s in self.node_statuses() if s.state in RUNNING_STATES}
        return sum(rate for name, rate in self.served_rates().items() if name in running)

    def idle_rule_problem(self) -> str:
        """Why "serve only while I am away" cannot work on this desktop ("" when it can); read once. Blocking."""
        if self._idle_problem is None:
            self._idle_problem = idle_rule_problem(self.signals)
        return self._idle_problem

    def pause_cost(self, seconds: float) -> str:
        """What a pause of `seconds` costs at the current rate: in FAR at the settled rate once a payout settled."""
        outlook = self.outlook.kept
        return pause_cost_text(outlook.forecast if outlook else None, self.tokens_per_s(), seconds)

    def outlook_now(self) -> EarningsOutlook:
        """The earnings forecast and the GPUs' electricity (blocking: reads the ledger every few minutes)."""
        return self.outlook.current()

    # ----- settings -----
    def apply_settings(self, new: Settings) -> list[str]:
        """Save the settings; relaunch only the nodes whose launch changes. Returns their names.

        Does not wait for a node to stop: the nodes to relaunch are told to stop here and replaced by the tick
        once they have (`_finish_restarts`), so the app keeps ticking and showing them meanwhile.
        """
        new.validate()
        with self._lock:
            old = self.settings
            self.store.save(new)
            self.settings = new
            if not self._started or not relaunching_changes(old, new):
                return []  # no setting a node is launched with changed (settings.py declares which those are)
            inventory = self.planning_inventory() or self.sampler.sample_once()
            try:
                before = self._desired_specs(old, inventory)
            except FarNodeError:
                before = []  # the old choices no longer plan (a model gone): compare with what runs
            after = self._desired_specs(new, inventory, remember=True)
            running = {name: s.spec for name, s in self.fleet.nodes.items()}
            for name, pending in self.fleet.retiring.items():
                if pending.spec is not None:
                    running[name] = pending.spec  # what it is about to run
            changes = plan_changes(running, before, after)
            wall = self.clock.wall()
            for name, spec in [*changes.restart.items(), *((n, None) for n in changes.remove)]:
                supervisor = self.fleet.nodes[name]
                status = supervisor.status()
                self.recorder.flush(status, wall)  # what it served up to now, before it stops
                self.fleet.retire(name, spec, run=status.state not in _STOPPED)
            wants_running = any(s.status().state not in _STOPPED for s in self.fleet.active().values()) or any(
                p.run for p in self.fleet.retiring.values())
            for spec in changes.add:
                self._launch(self.fleet.add(spec), wants_running)
            self._finish_restarts()
            return changes.touched

    def _finish_restarts(self) -> None:
        """Relaunch the retired nodes that have stopped, paused if a pause holds them, started if they ran."""
        for swapped in self.fleet.swap_stopped(lambda s: s.status().state in _STOPPED):
            self.recorder.flush(swapped.old.status(), self.clock.wall())
            self.recorder.forget(swapped.name)
            swapped.old.close()
            if swapped.new is not None:
                self._launch(swapped.new, swapped.run)

    def _launch(self, supervisor: Supervisor, run: bool) -> None:
        if not run:
            return
        reason = self._pause_reason(supervisor.spec.name)
        if reason is not None:
            supervisor.pause(reason)
        else:
            supervisor.start()
        self.recorder.observe(supervisor.status(), self.clock.wall())  # its first period begins now

    # ----- wallet and earnings -----
    def wallet(self) -> Wallet | None:
        """The keyring wallet, or None with `wallet_problem()` saying why (locked or insecure keyring)."""
        if self._wallet is None:
            try:
                # each keyring call is time-limited, and Quit lets a waiting one go (a prompt nobody sees)
                backend = DeadlineKeyring(require_secure(self._keystore if self._keystore is not None
                                                         else system_keyring()), self._quitting)
                policy = WalletPolicy(self.networks)  # signs only for the contracts this installation pins
                self._wallet = (Wallet(backend, self.bus, service=self._wallet_service, policy=policy)
                                if self._wallet_service else Wallet(backend, self.bus, policy=policy))
                self._wallet_error = None
            except FarNodeError as exc:
                self._wallet_error = str(exc)
                return None
        return self._wallet

    def _supervisors(self) -> list[NodeSupervisor]:
        return [s for s in self.fleet.nodes.values() if isinstance(s, NodeSupervisor)]

    def _reload_catalog(self) -> None:
        """A newly verified catalog (from the update check's thread): the next plan uses it, and the tick drains
        and relaunches the nodes whose plan it changes. No app lock: a plan in progress keeps its catalog."""
        old, self.catalog = self.catalog, Catalog.load(paths=self.paths)
        self.replan.changed(old)

    def _plan_with(self, catalog: Catalog, remember: bool) -> list[NodeSpec]:
        inventory = self.planning_inventory() or self.sampler.sample_once()
        return self._desired_specs(self.settings, inventory, remember, catalog)

    def networks(self) -> PinnedNetworks:
        """The networks this installation pins (shipped manifest, and a devnet's local one in this home)."""
        return installation_networks(self.paths)

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
        url = coordinator_url(self.settings.coordinator_url, Settings().coordinator_url, self.networks(),
                              self.settings.chain_id)
        return CoordinatorClient(url)

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
        """The claim service (blocking: may ask the coordinator), built by the one factory the CLI uses too."""
        wallet = self.wallet()
        if wallet is None or not wallet.exists():
            raise FarNodeError("there is no wallet to claim to", hint="create or import a wallet first")
        self.claims = ClaimFactory(self.settings, networks=self.networks()).claim_service(
            wallet, self.ledger, bus=self.bus, clock=self.clock)
        return self.claims

    def resume_claims(self) -> int:
        """Pick up claims a previous run left unfinished (blocking: HTTP and chain); returns how many are left
        unfinished. Touches the keyring and the network only when the ledger holds such a claim."""
        if not self.ledger.unfinished_claims():
            return 0
        try:
            service = self.claim_service()
            results = service.resume_all()
        except FarNodeError as exc:
            self.bus.emit(Event("claim.resume_failed", "wallet", f"unfinished claims wait: {exc}"))
            return len(self.ledger.unfinished_claims())
        for record, error in results:
            if error is not None:
                self.bus.emit(Event("claim.resume_failed", "wallet", f"claim {record.id[:8]} waits: {error}"))
        return sum(1 for record, _ in results if not record.finished)

    def _resume_claims_in_background(self) -> None:
        """Resume unfinished claims on a worker thread of the core (start() itself runs off the GUI thread,
        and the nodes should not wait for a slow coordinator)."""
        thread = threading.Thread(target=self.resume_claims, name="claims-resume", daemon=True)
        self._claims_thread = thread
        thread.start()

    def bind_nodes(self) -> list[str]:
        """Bind every serving node's peer id to the wallet (so the coordinator pays its work to this wallet)."""
        wallet = self.wallet()
        if wallet is None or not wallet.exists():
            return []
        peers = [s.peer_id for s in self.node_statuses() if s.peer_id]
        if not peers:
            return []
        factory = ClaimFactory(self.settings, networks=self.networks())
        client = factory.client()
        terms = factory.terms(client)  # chain, contract and fee checked on the provider's own chain
        for peer in peers:
            client.bind_node(wallet, peer, terms, now=self.clock.wall())
        return peers

    def throughput_history(self, node: str | None, seconds: float) -> list[MinutePoint]:
        """Served tokens/s and tokens per minute over the last `seconds` (every node added up, or one), from the
        ledger, each period weighted by the time it covers."""
        until = self.clock.wall()
        since = until - seconds
        return per_minute(self._served_work_now(node, since, until), since, until, origin=until)

    def _served_work_now(self, node: str | None, since: float, until: float) -> list[ServedWork]:
        """The ledger's periods and each node's open one: what the chart and the headline rate are read from."""
        with self._lock:
            statuses = self.node_statuses()
            # the open periods end when their counters were read (after `until`): the chart clips them at `until`
            open_now = self.recorder.unrecorded(statuses, max(until, self.clock.wall()))
        return self.ledger.served_work(node, since=since) + [w for w in open_now if node in (None, w.node)]

    def _record_served_work(self, final: bool = False) -> None:
        wall = self.clock.wall()
        for status in self.node_statuses():
            self.recorder.observe(status, wall, final=final)

