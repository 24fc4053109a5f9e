"""The node's health check: a real, tiny request (one token's forward through every block this node serves) sent to
its own peer over its own p2p address, as a client sends it, after each start and then on a schedule.

It runs in a thread of the server's main process, with its own small client-mode p2pd (a child of the server, so it
lives and ends with the node's group). Its results go out in the status endpoint (`wire.HealthReport`); the
supervisor decides what a failure means. The test request's tokens are left out of the served-work counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farnode_desktop.mesh.counters import SERVED, ServedWork
from farnode_desktop.mesh.wire import HealthReport

INTERVAL_S = 60.0  # between checks while serving
RETRY_S = 5.0  # after a failed check: the supervisor restarts after consecutive failures, so confirm soon
TIMEOUT_S = 20.0  # one check's deadline (a 1-token forward takes milliseconds, even through many big blocks)
# Test-only knobs, read from the environment the supervisor gives the server (it never sets them itself).
INTERVAL_ENV = "FARNODE_HEALTH_INTERVAL_S"
FAULT_FILE_ENV = "FARNODE_TEST_FAIL_REQUESTS_FILE"  # while this file exists, the blocks fail every request


@dataclass
class Target:
    """Where and what to ask: this node's peer, its addresses, its blocks in order, their input width and dtype."""

    peer_id: Any
    maddrs: list[str]
    uids: list[str]
    blocks: list[int]
    hidden_size: int


def _dial_addrs(maddrs: list[str]) -> list[str]:
    """The node's addresses without their /p2p/ part, plus loopback on its port (its public address may not
    route back to this machine through a home router)."""
    addrs = [m.split("/p2p/", 1)[0] for m in maddrs if "/p2p-circuit" not in m]
    ports = {a.rsplit("/tcp/", 1)[1].split("/", 1)[0] for a in addrs if "/tcp/" in a}
    for port in sorted(ports):
        addrs.append(f"/ip4/127.0.0.1/tcp/{port}")
    return list(dict.fromkeys(addrs))


def target_of(server: Any) -> Target | None:
    """The target from Petals' running `Server`; None while it is not serving yet."""
    container = getattr(server, "module_container", None)
    if server is None or container is None or not container.ready.is_set():
        return None
    uids = sorted(container.module_backends, key=lambda uid: int(uid.rsplit(".", 1)[1]))
    if not uids:
        return None
    dht = server.dht
    maddrs = [str(m) for m in dht.get_visible_maddrs()]
    return Target(dht.peer_id, _dial_addrs(maddrs), uids, [int(u.rsplit(".", 1)[1]) for u in uids],
                  int(server.block_config.hidden_size))


class HealthProber:
    """Sends the test requests and keeps their record; `report()` is what the status endpoint shows."""

    def __init__(self, target: Callable[[], Target | None], work: ServedWork = SERVED,
                 interval_s: float = INTERVAL_S, retry_s: float = RETRY_S, timeout_s: float = TIMEOUT_S) -> None:
        self.target = target
        self.work = work
        self.interval_s, self.retry_s, self.timeout_s = interval_s, retry_s, timeout_s
        self._lock = threading.Lock()
        self._checks = self._passed = self._failed = self._consecutive = 0
        self._error = ""
        self._passed_at: float | None = None
        self._took: float | None = None
        self._running_since: float | None = None
        self._cpu = 0.0
        self._p2p: Any = None
        self._stop = threading.Event()

    def report(self) -> HealthReport:
        with self._lock:
            now = time.monotonic()
            return HealthReport(
                checks=self._checks, passed=self._passed, failed=self._failed,
                consecutive_failures=self._consecutive, last_error=self._error,
                last_passed_ago_s=None if self._passed_at is None else round(now - self._passed_at, 1),
                last_took_s=None if self._took is None else round(self._took, 4),
                running_s=None if self._running_since is None else round(now - self._running_since, 1),
                cpu_s=round(self._cpu, 4),
            )

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._thread, name="farnode-health", daemon=True)
        thread.start()
        return thread

    def _thread(self) -> None:
        # hivemind switches this process's event-loop policy to uvloop's, whose policy has no child watcher for the
        # selector loop: a loop of uvloop's own starts the prober's p2pd from any thread
        try:
            import uvloop

            loop = uvloop.new_event_loop()
        except ImportError:
            loop = asyncio.new_event_loop()
        with contextlib.closing(loop):
            loop.run_until_complete(self._run())

    def stop(self) -> None:
        self._stop.set()

    async def _run(self) -> None:
        while not self._stop.is_set():
            if not await asyncio.to_thread(self._serving):  # not serving (yet): look again soon
                await asyncio.sleep(0.5)
                continue
            ok = await self.check_once()
            await asyncio.sleep(self.interval_s if ok else self.retry_s)

    def _serving(self) -> bool:
        try:
            return self.target() is not None
        except Exception:  # the server's parts cannot be asked (its DHT process died): the check says why
            return True

    async def check_once(self) -> bool:
        """One test request; records the outcome and returns whether it passed."""
        started, cpu0 = time.monotonic(), time.thread_time()
        with self._lock:
            self._running_since = started
        error = ""
        try:
            await asyncio.wait_for(self._request(), self.timeout_s)
        except TimeoutError:
            error = f"no answer within {self.timeout_s:.0f} s"
        except Exception as exc:  # any failure of the request is the finding, in its own words
            error = f"{type(exc).__name__}: {exc}".strip().rstrip(":")[:300] or type(exc).__name__
        finally:
            self.work.end_own()
        with self._lock:
            self._running_since = None
            self._checks += 1
            self._took = time.monotonic() - started
            self._cpu += time.thread_time() - cpu0
            if error:
                self._failed += 1
                self._consecutive += 1
                self._error = error
            else:
                self._passed += 1
                self._consecutive = 0
                self._error = ""
                self._passed_at = time.monotonic()
        if error:
            print(f"[farnode] a test request through this node failed: {error}", flush=True)
        return not error

    async def _request(self) -> None:
        import torch
        from hivemind import P2P, MSGPackSerializer, deserialize_torch_tensor, serialize_torch_tensor
        from hivemind.proto import runtime_pb2
        from hivemind.utils.multiaddr import Multiaddr
        from petals.data_structures import CHAIN_DELIMITER
        from petals.server.handler import TransformerConnectionHandler

        target = await asyncio.to_thread(self.target)
        if target is None:
            raise RuntimeError("the server stopped serving its blocks")
        if self._p2p is None:  # one small client daemon for the node's life: no p2pd comes and goes in its group
            self._p2p = await P2P.create(host_maddrs=["/ip4/127.0.0.1/tcp/0"], dht_mode="client", auto_nat=False,
                                         nat_port_map=False, use_relay=False, use_auto_relay=False)
        await self._p2p._client.connect(target.peer_id, [Multiaddr(a) for a in target.maddrs])
        stub = TransformerConnectionHandler.get_stub(self._p2p, target.peer_id)
        hidden = torch.randn(1, 1, target.hidden_size, generator=torch.Generator().manual_seed(11)) * 0.02
        tensors = [serialize_torch_tensor(hidden), serialize_torch_tensor(torch.empty(0))]  # states, no prompts
        self.work.expect_own(target.blocks, tokens=1)
        response = await stub.rpc_forward(runtime_pb2.ExpertRequest(
            uid=CHAIN_DELIMITER.join(target.uids), tensors=tensors, metadata=MSGPackSerializer.dumps({"points": 0})),
            timeout=self.timeout_s)
        out = deserialize_torch_tensor(response.tensors[0])
        if tuple(out.shape) != (1, 1, target.hidden_size):
            raise RuntimeError(f"the answer has shape {tuple(out.shape)}, not (1, 1, {target.hidden_size})")
        if not bool(torch.isfinite(out).all()):
            raise RuntimeError("the answer holds NaN or infinite values")


def install_test_fault(flag_file: Path) -> None:
    """Tests only: while `flag_file` exists, every batch of the blocks fails, as a broken model family does (the
    process, its group and the status endpoint stay up). Installed before the counters, so they count the failures."""
    from petals.server.server import RuntimeWithDeduplicatedPools

    original = RuntimeWithDeduplicatedPools.process_batch

    def process_batch(self: Any, pool: Any, batch_index: int, *batch: Any) -> Any:
        if flag_file.exists():
            raise RuntimeError("test fault: this node's blocks fail every request")
        return original(self, pool, batch_index, *batch)

    RuntimeWithDeduplicatedPools.process_batch = process_batch


def from_environment(target: Callable[[], Target | None]) -> HealthProber:
    """The prober with the schedule the environment asks for (tests shorten it), the fault hook if asked."""
    fault = os.environ.pop(FAULT_FILE_ENV, "")
    if fault:
        install_test_fault(Path(fault))
    interval = INTERVAL_S
    with contextlib.suppress(ValueError):
        interval = max(0.2, float(os.environ.pop(INTERVAL_ENV, INTERVAL_S)))
    return HealthProber(target, interval_s=interval, retry_s=min(RETRY_S, interval))
