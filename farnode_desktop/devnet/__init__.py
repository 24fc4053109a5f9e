"""A local Far Labs network for development, tests and the app's demo mode: chain, token, coordinator."""

from __future__ import annotations

import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from farnode_desktop.core.earnings.network import PinnedNetwork
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.devnet.store import Rules

__all__ = ["Devnet", "DevnetInfo", "Rules"]


@dataclass(frozen=True)
class DevnetInfo:
    """Where a running devnet listens and what it pays in."""

    coordinator_url: str
    rpc_url: str
    token_address: str
    chain_id: int
    gateway_token: str  # the gateway sends it as `Authorization: Bearer ...` with usage reports
    treasury: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def pinned_network(self) -> PinnedNetwork:
        """This run's fresh contracts as the entry an installation pins them by (`network.pin_local_devnet`)."""
        return PinnedNetwork(self.chain_id, "FarNode devnet on this PC", self.rpc_url, self.coordinator_url,
                             self.token_address, self.token_address, local=True)


class Devnet:
    """Chain (eth-tester) + JSON-RPC + coordinator (FastAPI on uvicorn), all in this process, on loopback."""

    def __init__(
        self,
        rules: Rules | None = None,
        *,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        coordinator_port: int = 0,
        rpc_port: int = 0,
        gateway_token: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise FarNodeError("the devnet listens on loopback only (127.0.0.1)")
        self.rules = rules or Rules()
        self._data_dir = data_dir
        self._host = host
        self._ports = (coordinator_port, rpc_port)
        self._gateway_token = gateway_token or secrets.token_urlsafe(24)
        self._clock = clock  # the coordinator's time (credits, settling, deadlines); tests may simulate days
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._rpc: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._sock: socket.socket | None = None
        self.chain: Any = None
        self.store: Any = None
        self.info: DevnetInfo | None = None

    def start(self, timeout_s: float = 30.0) -> DevnetInfo:
        import uvicorn

        from farnode_desktop.devnet.chain import DevChain, RpcServer
        from farnode_desktop.devnet.server import create_app
        from farnode_desktop.devnet.store import CoordinatorStore

        if self.info is not None:
            return self.info
        if self._data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="farnode-devnet-")
            data_dir = Path(self._tmp.name)
        else:
            data_dir = self._data_dir
            data_dir.mkdir(parents=True, exist_ok=True)
        self.chain = DevChain()
        self._rpc = RpcServer(self.chain, self._host, self._ports[1])
        self._rpc.start()
        self.store = CoordinatorStore(data_dir / "coordinator.sqlite3", self.rules, clock=self._clock)
        app = create_app(self.store, self.chain, self._gateway_token, rpc_url=self._rpc.url)
        sock = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._ports[0]))
        except OSError as exc:
            self._rpc.stop()
            raise FarNodeError(
                f"the devnet coordinator cannot listen on {self._host}:{self._ports[0]} ({exc})",
                hint="choose another port or stop what uses it",
            ) from None
        self._sock = sock
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="devnet-coordinator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise FarNodeError("the devnet coordinator did not start")
            time.sleep(0.02)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.info = DevnetInfo(
            coordinator_url=f"http://{host}:{port}",
            rpc_url=self._rpc.url,
            token_address=self.chain.token_address,
            chain_id=self.chain.chain_id,
            gateway_token=self._gateway_token,
            treasury=self.chain.treasury,
        )
        return self.info

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        if self._rpc is not None:
            self._rpc.stop()
        if self.store is not None:
            self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()
        self._server = self._thread = self._rpc = self.store = self._tmp = self._sock = None
        self.info = None

    def __enter__(self) -> Devnet:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
