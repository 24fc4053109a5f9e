"""A real update repository served over HTTP on loopback for the update tests, with the faults a hostile or broken
server shows: files swapped, dripped, or cut off mid-download."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.channel import set_override
from farnode_desktop.devnet.update_repo import MODEL_CATALOG, NETWORK_MANIFEST, UpdateRepository

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Faults:
    swap: dict[str, bytes] = field(default_factory=dict)  # URL path -> what the server sends instead
    drip: set[str] = field(default_factory=set)  # URL paths sent one byte every 50 ms
    cut: set[str] = field(default_factory=set)  # URL paths that stop halfway (the server disappears)
    requests: list[str] = field(default_factory=list)


def _handler(folder: Path, faults: Faults) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            faults.requests.append(self.path)
            body = faults.swap.get(self.path)
            if body is None and (self.path in faults.drip or self.path in faults.cut):
                body = (folder / self.path.lstrip("/")).read_bytes()
            if body is None:
                super().do_GET()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.path in faults.cut:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            if self.path in faults.drip:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(folder: Path, faults: Faults | None = None) -> Iterator[tuple[str, Faults]]:
    faults = faults or Faults()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(folder, faults))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", faults
    finally:
        server.shutdown()
        server.server_close()


def manifest(coordinator: str = "https://coordinator.example.org") -> bytes:
    raw = json.loads((ROOT / "resources" / "network" / "manifest.json").read_text())
    raw["networks"].append({"chain_id": 8453, "name": "Base", "rpc_url": "https://rpc.example.org",
                            "coordinator_url": coordinator,
                            "token": "0x" + "11" * 20, "payout_contract": "0x" + "22" * 20})
    return json.dumps(raw).encode()


def catalog(drop: int = 0) -> bytes:
    raw = json.loads((ROOT / "resources" / "models.json").read_text())
    raw["models"] = raw["models"][drop:]
    return json.dumps(raw).encode()


def make_repo(tmp: Path, thresholds: dict[str, int] | None = None) -> UpdateRepository:
    repo = UpdateRepository(tmp / "repo", tmp / "keys")
    repo.init(thresholds)
    repo.publish({NETWORK_MANIFEST: manifest(), MODEL_CATALOG: catalog()})
    return repo


def point_at(paths: AppPaths, url: str, repo: UpdateRepository) -> None:
    set_override(paths, url, repo.root_bytes(1))
