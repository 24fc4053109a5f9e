"""Demo mode: the whole Far Labs network on this PC (chain, token, coordinator, gateway, a CPU node) on loopback.

Within a few minutes the provider sees tokens served, earnings rising and a claim paid on chain; a little after the
first served request the demo's update repository publishes a new node runtime (one package changed), which the app
prepares beside the current one and switches the node onto. Everything it starts is stopped again by `stop()`, and
no process is left behind.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.earnings.keystore import KeyringBackend, KeyringUnavailable, system_keyring
from farnode_desktop.core.earnings.ledger import ClaimRecord, ClaimState
from farnode_desktop.core.earnings.network import PinnedNetwork, manifest_json, pin_local_devnet
from farnode_desktop.core.earnings.recovery import RecoveryPhrase
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.gpus.catalog import catalog_path
from farnode_desktop.core.node.factory import TINY_DEMO
from farnode_desktop.core.node.host import NODE_MARKER_ENV, LaunchCommand, OsProcessHost, RunningProcess, minimal_env
from farnode_desktop.core.node.logfile import RotatingLog
from farnode_desktop.core.node.process_group import (
    end_group,
    new_marker,
    write_pid_file,
)
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.core.updates.channel import set_override
from farnode_desktop.devnet.demo_home import (
    GATEWAY_PID_FILE,
    KEEP_ARCHIVES,
    archive_ledger,
    demo_paths,
    end_leftovers,
    remove,
)
from farnode_desktop.devnet.runtime_release import one_wheel_release
from farnode_desktop.devnet.update_repo import (
    RUNTIME_INFO,
    RUNTIME_LOCK,
    LoopbackRepositoryServer,
    UpdateRepository,
    publish_demo_release,
)

__all__ = ["DEMO_WALLET_SERVICE", "GATEWAY_PEERS_FILE", "GATEWAY_PID_FILE", "KEEP_ARCHIVES", "NODE_RUNTIME_LINK",
           "RUNTIME_UPDATE_AFTER_S", "UPDATE_RELEASE", "DemoCancelled", "DemoNetwork", "DemoStats", "MemoryKeyring",
           "archive_ledger", "demo_paths", "end_leftovers", "update_after"]  # the demo's home is in demo_home.py
DEMO_WALLET_SERVICE = "FarNode Desktop demo wallet"  # never the provider's own wallet entry
GATEWAY_PEERS_FILE = "peers.json"  # the node's addresses now: the gateway reads them again for each new client
NODE_RUNTIME_LINK = "node-runtime"  # the demo node's own runtime: a link to this PC's, which the demo's update moves
UPDATE_RELEASE = "update-release"  # the demo's update repository, its throwaway keys and its wheels
RUNTIME_UPDATE_AFTER_S = 20.0  # `farnode demo`: the runtime release follows the first served request by this much


def update_after(args: object) -> float | None:
    """`--update-after` of `farnode demo` in seconds (default RUNTIME_UPDATE_AFTER_S), None for never (< 0)."""
    value = float(getattr(args, "update_after", RUNTIME_UPDATE_AFTER_S))
    return None if value < 0 else value


class MemoryKeyring:
    """Holds the demo's throwaway key in this process's memory only, when the PC has no OS keyring.

    Used for demo mode alone, and said so on screen; the provider's real wallet never uses it.
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._items.pop((service, username), None)


@dataclass
class DemoStats:
    """What the demo has done so far (the headless view prints it)."""

    requests: int = 0
    reported: int = 0
    gateway_errors: list[str] = field(default_factory=list)
    claims: list[ClaimRecord] = field(default_factory=list)
    keyring: str = ""


class DemoNetwork:
    """Starts devnet + node + gateway; `core` is the same AppCore the tray app shows."""

    def __init__(self, paths: AppPaths, runtime: NodeRuntime, *, keyring: KeyringBackend | None = None,
                 bus: EventBus | None = None, gateway_interval_s: float = 1.0, policy: SupervisorPolicy | None = None,
                 on_line: Callable[[str], None] | None = None, gateway_requests: int = 0,
                 runtime_update_after_s: float | None = None) -> None:
        """`runtime_update_after_s`: publish a new node runtime this long after the first served request (None:
        never; the tests of other things keep their node on one runtime)."""
        from farnode_desktop.devnet import Devnet, Rules

        self.paths = paths.ensure()
        self.runtime = runtime
        self.bus = bus or EventBus()
        self.devnet = Devnet(Rules())  # a fresh chain and coordinator each run
        self.stats = DemoStats()
        self._keyring = keyring
        self._interval = gateway_interval_s
        self._gateway_requests = gateway_requests
        self._policy = policy
        self._on_line = on_line
        self._gateway: RunningProcess | None = None
        self._gateway_log: RotatingLog | None = None
        self._peers_written: list[str] = []
        self._update_server: LoopbackRepositoryServer | None = None
        self._update_repo: UpdateRepository | None = None
        self._runtime_update_after = runtime_update_after_s
        self._runtime_timer: threading.Timer | None = None
        self.runtime_release: str | None = None  # what the demo's runtime release changed, once published
        # the node runs from the demo's own link to this PC's runtime, so the demo's update switches that link (the
        # new version prepared in the demo's folder, hard-linked), never the provider's runtime
        self.node_runtime = NodeRuntime(self.paths.data / NODE_RUNTIME_LINK, base_python=runtime.base_python)
        self._unsubscribe: Callable[[], None] = lambda: None
        self._host = OsProcessHost()
        self._lock = threading.Lock()
        self.core: AppCore | None = None

    def _choose_keyring(self) -> KeyringBackend:
        if self._keyring is not None:
            self.stats.keyring = type(self._keyring).__name__
            return self._keyring
        try:
            backend = system_keyring()
            backend.get_password(DEMO_WALLET_SERVICE, "probe")  # a locked or absent Secret Service fails here
            self.stats.keyring = type(backend).__module__
            return backend
        except (KeyringUnavailable, Exception):
            self.stats.keyring = "memory (no OS keyring here: the demo wallet lives only while the demo runs)"
            return MemoryKeyring()

    def start(self, wait_serving_s: float = 300.0, cancelled: Callable[[], bool] = lambda: False) -> AppCore:
        """Bring the network up; returns once the node serves and its peer id is bound to the demo wallet.

        `cancelled` is asked while waiting for the node (Ctrl-C during a start): it ends the wait with DemoCancelled.
        """
        if not self.runtime.is_installed():
            self._say("installing the node runtime (first run only, a few minutes)")
            self.runtime.install(progress=lambda msg, done, total: self._say(f"runtime {done}/{total}: {msg}"))
        self._link_node_runtime()
        info = self.devnet.start()
        self._say(f"devnet: coordinator {info.coordinator_url}, chain RPC {info.rpc_url} (chain {info.chain_id})")
        settings = Settings(model=TINY_DEMO, new_swarm=True, coordinator_url=info.coordinator_url,
                            chain_rpc_url=info.rpc_url, public_name="farnode-demo")
        SettingsStore(self.paths.config_file).save(settings)
        # This run's fresh token, pinned by the demo's own installation folder (never taken from the coordinator).
        pin_local_devnet(self.paths, info.pinned_network())
        self._publish_update(info.pinned_network())
        core = AppCore(self.paths, bus=self.bus, runtime=self.node_runtime, keystore=self._choose_keyring(),
                       policy=self._policy, wallet_service=DEMO_WALLET_SERVICE, served_work_period_s=5.0)
        self.core = core
        wallet = core.wallet()
        if wallet is None:
            raise FarNodeError(f"the demo wallet is not available: {core.wallet_problem()}")
        if not wallet.exists():
            wallet.create(RecoveryPhrase.new())  # a throwaway wallet paid on the local demo chain only
        self._say(f"demo wallet {wallet.address()} (keyring: {self.stats.keyring})")
        core.start(serve=True)
        clock = SystemClock()
        deadline = clock.monotonic() + wait_serving_s
        while clock.monotonic() < deadline:
            if cancelled():
                raise DemoCancelled("the demo was stopped before its node started serving")
            core.tick()
            states = [s.state for s in core.node_statuses()]
            if states and all(s is NodeState.SERVING for s in states) and all(
                    s.peer_id and s.end_block for s in core.node_statuses()):
                break
            if any(s is NodeState.FAILED for s in states):
                failed = next(s for s in core.node_statuses() if s.state is NodeState.FAILED)
                raise FarNodeError(f"the demo node failed: {failed.reason}", hint=failed.hint)
            clock.sleep(0.3)
        else:
            raise FarNodeError("the demo node did not start serving in time", hint="see `farnode node status`")
        bound = core.bind_nodes()
        self._say(f"node serving; peer id {', '.join(bound)} bound to the demo wallet")
        core.updates.join(timeout_s=10)  # the check at start, on its own thread
        if core.updates.last is not None:
            self._say(f"update check: {core.updates.last.message}")
        self._start_gateway(core, info.coordinator_url, info.gateway_token)
        return core

    def _link_node_runtime(self) -> None:
        """The demo node's runtime: a link to this PC's installed runtime (made afresh each run; a link is moved,
        never what it points to)."""
        link = self.node_runtime.location
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            raise FarNodeError(f"{link} is in the way of the demo's node runtime link",
                               hint="remove it, or start the demo afresh")
        versions = link.parent / f"{link.name}.versions"
        if versions.exists():
            remove(versions)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(self.runtime.location.resolve(), link)

    def _publish_update(self, network: PinnedNetwork) -> None:
        """An update repository on loopback with this run's signed network manifest; the app's check at start
        verifies and installs it against the root this demo home trusts (set here, never by a server)."""
        repo = publish_demo_release(self.paths.data / UPDATE_RELEASE, json.dumps(manifest_json([network])).encode(),
                                    catalog_path(self.paths).read_bytes())
        self._update_repo = repo
        self._update_server = LoopbackRepositoryServer(repo.folder)
        set_override(self.paths, self._update_server.url, repo.root_bytes(1))
        self._say(f"update repository: {self._update_server.url} (signed release: network manifest, catalog)")

    def publish_runtime_update(self) -> str:
        """Sign a new node runtime into the demo's repository (this run's runtime lock with one small package
        rebuilt on this PC as a new version) and have the app check now: it prepares the runtime beside the
        current one while the node serves on, then the node drains and starts once on it. Returns what changed.

        The app itself is not released here: in a source checkout FarNode updates through git, and a frozen app's
        update needs a bundle built by the release process (README, "The app updates itself")."""
        if self._update_repo is None or self.core is None:
            raise FarNodeError("the demo has not started yet: nothing to publish into")
        release = one_wheel_release(self.node_runtime, self.paths.data / UPDATE_RELEASE / "wheels")
        self._update_repo.publish({RUNTIME_LOCK: release.lock, RUNTIME_INFO: release.info})
        self.runtime_release = release.summary
        note = ("The demo updates the node runtime only: " + (
            "FarNode itself, run from this source checkout, updates through git" if self.core.app_updates.root is None
            else "FarNode itself updates from Far Labs' signed releases"))
        text = f"the demo's update server published a new node runtime ({release.summary}). {note}"
        self._say(text)
        self.bus.emit(Event("update.runtime", "demo", text, {"stage": "published", "change": release.summary,
                                                             "note": note}))
        self.core.updates.check_soon()
        return release.summary

    def _publish_runtime_later(self) -> None:
        """On the first served request: the runtime release follows after `runtime_update_after_s`, on a timer
        thread, so nothing delays the demo's start or its first request."""
        if self._runtime_update_after is None or self._runtime_timer is not None:
            return

        def publish() -> None:
            try:
                self.publish_runtime_update()
            except (FarNodeError, OSError) as exc:
                self._say(f"the demo's runtime update was not published: {exc}")
                self.bus.emit(Event("update.problem", "demo", f"the demo's runtime update was not published: {exc}",
                                    {"runtime": True}))

        self._runtime_timer = threading.Timer(self._runtime_update_after, publish)
        self._runtime_timer.name, self._runtime_timer.daemon = "demo-runtime-release", True
        self._runtime_timer.start()

    def _start_gateway(self, core: AppCore, coordinator_url: str, gateway_token: str) -> None:
        status = core.node_statuses()[0]
        model_folder = core.fleet.nodes[status.name].spec.model
        workdir = self.paths.data / "gateway"
        workdir.mkdir(parents=True, exist_ok=True)
        self._write_peers(status.multiaddrs)
        # the node may come back elsewhere (a new port or identity after a restart): tell the gateway where
        self._unsubscribe = self.bus.subscribe(self._node_changed, "node.state")
        argv = [str(self.runtime.python), "-m", "farnode_desktop.mesh.gateway", model_folder,
                "--model-name", TINY_DEMO, "--initial-peers", *status.multiaddrs,
                "--peers-file", str(workdir / GATEWAY_PEERS_FILE),
                "--coordinator", coordinator_url, "--interval", str(self._interval),
                "--requests", str(self._gateway_requests)]
        if status.dht_prefix:
            argv += ["--dht-prefix", status.dht_prefix]
        env = minimal_env({"PYTHONPATH": str(mesh_source_root()), "HF_HUB_OFFLINE": "1",
                           "PETALS_IGNORE_DEPENDENCY_VERSION": "1", "FARNODE_GATEWAY_TOKEN": gateway_token})
        marker = new_marker()  # proves the gateway is this demo's before a later demo ends it
        env[NODE_MARKER_ENV] = marker
        self._gateway_log = RotatingLog(self.paths.logs / "gateway.log", max_bytes=2 * 1024 * 1024, backups=1)
        self._gateway = self._host.launch(LaunchCommand(argv, workdir, env), self._gateway_line)
        # a demo that is killed leaves its gateway running: the next demo ends it through this file
        write_pid_file(workdir / GATEWAY_PID_FILE, self._gateway, self._host.create_time(self._gateway.pid), marker)

    def _node_changed(self, event: Event) -> None:
        """A node serves again: write its addresses for the gateway's next client, if they changed.

        Runs where the supervisor emits (under that node's own lock, which its status() takes again)."""
        if event.data.get("state") != NodeState.SERVING.value or self.core is None:
            return
        supervisor = self.core.fleet.nodes.get(event.source)
        if supervisor is None:
            return
        try:
            self._write_peers(supervisor.status().multiaddrs)
        except OSError as exc:  # a full disk: the gateway keeps the addresses it had; never break the supervisor
            self._say(f"the gateway was not told the node's new address: {exc}")

    def _write_peers(self, multiaddrs: list[str]) -> None:
        if not multiaddrs or multiaddrs == self._peers_written:
            return
        write_atomic(self.paths.data / "gateway" / GATEWAY_PEERS_FILE, json.dumps(multiaddrs))
        self._peers_written = list(multiaddrs)

    def _gateway_line(self, line: str) -> None:
        if self._gateway_log is not None:
            self._gateway_log.write_line(line)
        if not line.startswith("{"):
            return
        try:
            body: dict[str, Any] = json.loads(line)
        except ValueError:
            return
        with self._lock:
            if "error" in body:
                self.stats.gateway_errors.append(str(body["error"]))
                return
            self.stats.requests += 1
            if "receipt" in body:
                self.stats.reported += 1
            self._publish_runtime_later()
        self.bus.emit(Event("demo.request", "gateway", "inference request served", body))

    def gateway_running(self) -> bool:
        return self._gateway is not None and self._gateway.poll() is None

    def claim(self, timeout_s: float = 60.0) -> ClaimRecord | None:
        """Claim what is claimable, follow it to the on-chain confirmation; None if below the minimum."""
        assert self.core is not None
        service = self.core.claim_service()
        quote = service.quote()
        if not quote.can_claim:
            return None
        record = service.start(quote)
        if record.state is not ClaimState.CONFIRMED:
            record = service.follow(record, timeout_s=timeout_s)
        self.stats.claims.append(record)
        return record

    def stop(self) -> None:
        """Stop the gateway first (it has no lifeline: a Quit that gives up waiting must not leave it running), then
        the node (no process left) and the devnet.

        Each step runs even when an earlier one fails (a full disk, a database error), so a failure never leaves
        processes behind; the first failure is raised afterwards with its real cause.
        """
        errors: list[BaseException] = []

        def step(action: Callable[[], None]) -> None:
            try:
                action()
            except Exception as exc:
                errors.append(exc)

        self._unsubscribe()
        if self._runtime_timer is not None:
            self._runtime_timer.cancel()
            self._runtime_timer.join(timeout=10)
        if self._gateway is not None:
            gateway = self._gateway
            step(lambda: self._end_gateway(gateway))
            self._gateway = None
        if self.core is not None:
            step(self.core.shutdown)
        if self._gateway_log is not None:
            step(self._gateway_log.close)
            self._gateway_log = None
        step(self.devnet.stop)
        if self._update_server is not None:
            step(self._update_server.close)
            self._update_server = None
        if errors:
            first = errors[0]
            if isinstance(first, FarNodeError):
                raise first
            raise FarNodeError(f"the demo stopped, but not cleanly: {type(first).__name__}: {first}") from first

    def _end_gateway(self, gateway: RunningProcess) -> None:
        end_group(self._host, gateway.pgid, SystemClock())
        gateway.poll()
        (self.paths.data / "gateway" / GATEWAY_PID_FILE).unlink(missing_ok=True)

    def _say(self, text: str) -> None:
        if self._on_line is not None:
            self._on_line(text)


class DemoCancelled(FarNodeError):
    """The provider stopped the demo while it was still starting."""
