"""Entry point of a FarMesh node process: bridge hivemind, count served work, serve status, check its own health, run
Petals' server.

Run as `python -m farnode_desktop.mesh.serve --endpoint-file FILE -- <petals run_server arguments>`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from farnode_desktop.mesh import bridge, counters, health, sessions
from farnode_desktop.mesh.status import serve_status
from farnode_desktop.mesh.wire import NodeReport, ServerState, capped

LIFELINE_ENV = "FARNODE_LIFELINE_FD"  # the read end of a pipe whose write end only the supervisor holds


class NodeProcess:
    """What the status endpoint reports about this process; filled in as Petals' server comes up."""

    def __init__(self) -> None:
        self.server: Any = None
        self.started_at = time.time()
        self.stopping = False
        self.health: health.HealthProber | None = None
        self._lock = threading.Lock()

    def attach(self, server: Any) -> None:
        with self._lock:
            self.server = server

    def refuse_new_sessions(self) -> None:
        """The supervisor drains this node: no new inference session from now on (the open ones finish)."""
        if sessions.GATE is not None:
            sessions.GATE.refuse_new()
        sessions.announce_joining(self.server)

    def state(self) -> ServerState:
        if self.stopping:
            return ServerState.STOPPING
        server = self.server
        if server is None:
            return ServerState.STARTING
        container = getattr(server, "module_container", None)
        if container is not None and container.ready.is_set():
            return ServerState.SERVING
        return ServerState.LOADING

    def status(self) -> NodeReport:
        server = self.server
        gate = sessions.GATE
        report = NodeReport(state=self.state(), pid=os.getpid(), uptime_s=round(time.time() - self.started_at, 3),
                            served=counters.SERVED.snapshot(),
                            health=None if self.health is None else self.health.report(),
                            sessions_open=None if gate is None else gate.open_sessions)
        if server is None:
            return report
        peer_id: str | None = None
        multiaddrs: tuple[str, ...] = ()
        dht_error: str | None = None
        dht = getattr(server, "dht", None)
        if dht is not None:
            try:
                peer_id = str(dht.peer_id.to_base58())
                multiaddrs = tuple(str(m) for m in dht.get_visible_maddrs())
            except Exception as exc:  # a DHT whose daemon died: report it, do not crash the endpoint
                dht_error = capped(f"{type(exc).__name__}: {exc}")
        blocks: tuple[int, ...] = ()
        cache: int | None = None
        container = getattr(server, "module_container", None)
        if container is not None:
            blocks = tuple(sorted(int(uid.rsplit(".", 1)[1]) for uid in container.module_backends))
            cache = sessions_cache_bytes(container)
        return dataclasses.replace(
            report, peer_id=peer_id, multiaddrs=multiaddrs, dht_prefix=server.dht_prefix, blocks=blocks,
            start_block=min(blocks) if blocks else None, end_block=max(blocks) + 1 if blocks else None,
            dht_error=dht_error, sessions_cache_bytes=cache)


def sessions_cache_bytes(container: Any) -> int | None:
    """The attention cache open inference sessions hold or wait for, from Petals' shared MemoryCache (its counters
    are shared memory that every connection handler updates): 0 when no session is open, None when unknown."""
    for backend in getattr(container, "module_backends", {}).values():
        cache = getattr(backend, "memory_cache", None)
        if cache is not None:
            try:
                return max(0, int(cache.current_size_bytes)) + max(0, int(cache.enqueued_size_bytes))
            except (AttributeError, TypeError, ValueError):
                return None
    return None


NODE = NodeProcess()


def _capture_server() -> None:
    from petals.server import server as server_module

    original_init = server_module.Server.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        NODE.attach(self)

    server_module.Server.__init__ = __init__


def end_own_group(grace_s: float = 5.0) -> None:
    """End every process of this server's group (DHT process, handlers, p2pd), then this process itself."""
    import psutil

    me, group = os.getpid(), os.getpgrp()

    def others() -> list[psutil.Process]:
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.pid != me and os.getpgid(proc.pid) == group and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except (ProcessLookupError, psutil.Error):
                continue
        return found

    for sig in (signal.SIGCONT, signal.SIGTERM):  # resumed first: a frozen member acts on SIGTERM only when running
        for proc in others():
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)
    deadline = time.monotonic() + grace_s
    while others() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(group, signal.SIGKILL)  # whatever is left, and this process last


def watch_lifeline(fd: int, grace_s: float = 5.0) -> threading.Thread:
    """A server never outlives its supervisor: when the supervisor's end of the pipe closes (it exited, or was
    killed), end this node's whole process group. Works whichever thread of the supervisor launched us (unlike
    PR_SET_PDEATHSIG, which fires when the launching *thread* ends)."""

    def run() -> None:
        try:
            while os.read(fd, 64):  # the supervisor writes nothing; b"" means its end is closed
                pass
        except OSError:
            pass
        with contextlib.suppress(OSError, ValueError):
            print("[farnode] the supervisor is gone: stopping this node", flush=True)
        end_own_group(grace_s)

    thread = threading.Thread(target=run, name="farnode-lifeline", daemon=True)
    thread.start()
    return thread


ADAPTERS_REFUSED = (
    "FarNode does not serve LoRA adapters (--adapters) yet: Petals 2.2's adapter code builds peft 0.5's LoRA layers, "
    "and the node runtime has peft 0.22, whose layers are built another way, so the server would fail while loading "
    "its blocks. Start the node without --adapters.")


def refuse_adapters(petals_args: list[str]) -> None:
    """Stop, in plain words and before Petals starts, a launch that asks for LoRA adapters (`--adapters`, or any
    prefix of it that Petals' argparse would take for it)."""
    for arg in petals_args:
        name = arg.split("=", 1)[0]
        if name.startswith("--ad") and "--adapters".startswith(name):
            raise SystemExit(f"[farnode] {ADAPTERS_REFUSED}")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    petals_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, petals_args = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(prog="farnode-mesh-serve")
    parser.add_argument("--endpoint-file", type=Path, required=True)
    args = parser.parse_args(argv)
    refuse_adapters(petals_args)

    lifeline = os.environ.pop(LIFELINE_ENV, "")
    if lifeline.isdigit():
        watch_lifeline(int(lifeline))
    serve_status(NODE.status, args.endpoint_file, drain_fn=NODE.refuse_new_sessions)
    bridge.install()
    NODE.health = health.from_environment(lambda: health.target_of(NODE.server))  # its test fault goes in first
    counters.install()
    sessions.install()  # before Petals forks its handlers: they share its counter and its refusal
    _capture_server()
    NODE.health.start()
    from petals.cli import run_server

    # FarNode pins and updates the runtime itself; Petals' own check asks PyPI and fails offline.
    run_server.validate_version = lambda: None
    sys.argv = ["petals.cli.run_server", *petals_args]
    try:
        run_server.main()
    finally:
        NODE.stopping = True


if __name__ == "__main__":
    main()
