"""The node's local status endpoint: loopback only, a per-launch token, state and served-work counters as JSON."""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from farnode_desktop.mesh.wire import NodeReport

StatusFn = Callable[[], NodeReport]


class _Handler(BaseHTTPRequestHandler):
    server: _StatusServer

    def _allowed(self) -> bool:
        supplied = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), self.server.token.encode()):
            self._send(401, {"error": "missing or wrong token"})
            return False
        return True

    def do_POST(self) -> None:
        """/drain: the supervisor (it holds the token) asks the node to take no new inference session."""
        if not self._allowed():
            return
        if self.path == "/drain" and self.server.drain_fn is not None:
            self.server.drain_fn()
            self._send(200, {"refusing_new_sessions": True})
        else:
            self._send(404, {"error": "not found"})

    def do_GET(self) -> None:
        if not self._allowed():
            return
        if self.path.rstrip("/") in ("/status", ""):
            self._send(200, self.server.status_fn().to_json())
        elif self.path == "/health":
            self._send(200, {"ok": True})
        else:
            self._send(404, {"error": "not found"})

    def _send(self, code: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the server's own log stays about serving blocks


class _StatusServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, token: str, status_fn: StatusFn, drain_fn: Callable[[], None] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = token
        self.status_fn = status_fn
        self.drain_fn = drain_fn


def serve_status(status_fn: StatusFn, endpoint_file: Path,
                 drain_fn: Callable[[], None] | None = None) -> _StatusServer:
    """Serve `status_fn()` as JSON on 127.0.0.1 (a free port) and write {url, token, pid} to `endpoint_file` (0600);
    a POST to /drain calls `drain_fn`."""
    token = secrets.token_urlsafe(24)
    server = _StatusServer(token, status_fn, drain_fn)
    port = server.server_address[1]
    info = {"url": f"http://127.0.0.1:{port}", "token": token, "pid": os.getpid(), "started_at": time.time()}
    tmp = endpoint_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh)
    os.replace(tmp, endpoint_file)
    threading.Thread(target=server.serve_forever, name="farnode-status", daemon=True).start()
    return server
