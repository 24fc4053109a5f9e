"""Test helpers for wallet, coordinator and devnet tests: a real Secret Service, an in-memory signer, usage
reports sent over real HTTP."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
import uuid
from typing import Any

import pytest
from eth_account import Account

from farnode_desktop.core.earnings.network import PinnedNetworks
from farnode_desktop.core.earnings.signing_policy import SigningTerms
from farnode_desktop.devnet import DevnetInfo

NO_SECRET_SERVICE = (
    "no Secret Service keyring is reachable: run inside `dbus-run-session` with gnome-keyring unlocked "
    "(see the Makefile's test target)"
)


class KeySigner:
    """A test-only signer holding a key in memory (the app itself only signs through core.wallet.Wallet)."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key or str(Account.create().key.to_0x_hex())
        self._address = str(Account.from_key(self.key).address)

    def address(self) -> str:
        return self._address

    def sign_typed_data(self, full_message: dict[str, Any]) -> str:
        return "0x" + bytes(Account.sign_typed_data(self.key, full_message=full_message).signature).hex()


# The devnet rules of the shared `devnet` fixture (tests/conftest.py), in wei.
DEVNET_RATE = 10**12  # per block-token
DEVNET_FEE = 10**13
DEVNET_MIN_CLAIM = 10**15


def devnet_networks(info: DevnetInfo) -> PinnedNetworks:
    """What an installation pins once this devnet's token is pinned (as the demo pins it)."""
    return PinnedNetworks((info.pinned_network(),))


def devnet_terms(info: DevnetInfo) -> SigningTerms:
    """The devnet's signing terms, checked on its chain the way the app checks them (real HTTP, real RPC)."""
    from farnode_desktop.core.earnings.coordinator import CoordinatorClient
    from farnode_desktop.core.earnings.payouts import ChainReader
    from farnode_desktop.core.earnings.signing_policy import verify_terms

    return verify_terms(CoordinatorClient(info.coordinator_url).network(), ChainReader(info.rpc_url),
                        devnet_networks(info), info.chain_id)


def secret_service() -> Any:
    """The real Secret Service keyring backend, or a skip (with the reason) when none is reachable."""
    required = os.environ.get("FARNODE_REQUIRE_KEYRING") == "1"  # set by `make test`: never skip there
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        if required:
            pytest.fail(NO_SECRET_SERVICE)
        pytest.skip(NO_SECRET_SERVICE)
    from keyring.backends.SecretService import Keyring

    backend = Keyring()
    probe = f"farnode-probe-{uuid.uuid4().hex}"
    try:
        backend.set_password(probe, "probe", "x")
        backend.delete_password(probe, "probe")
    except Exception as exc:
        if required:
            pytest.fail(f"{NO_SECRET_SERVICE} ({type(exc).__name__}: {exc})")
        pytest.skip(f"{NO_SECRET_SERVICE} ({type(exc).__name__}: {exc})")
    return backend


def gnome_keyring_tools() -> None:
    for tool in ("dbus-run-session", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install gnome-keyring dbus dbus-x11)")


def report_usage(
    info: DevnetInfo, spans: list[dict[str, Any]], request_id: str | None = None, token: str | None = None
) -> tuple[int, Any]:
    """POST a usage report to the devnet the way the gateway does."""
    body = {"request_id": request_id or uuid.uuid4().hex, "model": "farlabs/tiny-demo", "spans": spans}
    return post_json(
        info.coordinator_url + "/v1/gateway/usage",
        body,
        {"Authorization": f"Bearer {token if token is not None else info.gateway_token}"},
    )


def post_json(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def keyring_session(script: str, env: dict[str, str], *, unlock: bool = True, stdin: str = "",
                    timeout: float = 120) -> Any:
    """Run `script` (sh) in a fresh D-Bus session with its own gnome-keyring (unlocked with password `pw`
    unless `unlock` is False): a separate, real Secret Service per call. `$FARNODE` runs the CLI."""
    import subprocess
    import sys
    import tempfile

    gnome_keyring_tools()
    start = ("printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null" if unlock
             else "gnome-keyring-daemon --start --components=secrets >/dev/null")
    home = tempfile.mkdtemp(prefix="farnode-keyring-home-")
    full_env = {**os.environ, **env, "HOME": home, "FARNODE": f"{sys.executable} -m farnode_desktop"}
    full_env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    # a headless session: with a display, a locked keyring would open an unlock prompt nobody answers
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY"):
        full_env.pop(name, None)
    return subprocess.run(["dbus-run-session", "--", "sh", "-c", f"{start}\n{script}"], input=stdin,
                          capture_output=True, text=True, env=full_env, timeout=timeout)


def clean_stderr(text: str) -> str:
    """stderr without the noise of the headless D-Bus session (gcr-prompter has no display)."""
    noise = ("Gtk-WARNING", "dbus-daemon[", "gcr-prompter", "** Message:")
    return "\n".join(line for line in text.splitlines() if line.strip() and not any(n in line for n in noise))


class FakeRpc:
    """A JSON-RPC server on loopback that answers the methods in `answers` itself and forwards the rest to a
    real RPC (`upstream`, e.g. the devnet's): a chain RPC that lies about some things."""

    def __init__(self, answers: dict[str, Any], upstream: str = "") -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        outer = self
        self.answers = answers
        self.calls: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = json.loads(raw)
                outer.calls.append(call["method"])
                if call["method"] in outer.answers:
                    body = json.dumps({"jsonrpc": "2.0", "id": call["id"],
                                       "result": outer.answers[call["method"]]}).encode()
                else:
                    req = urllib.request.Request(upstream, data=raw, headers={"Content-Type": "application/json"})
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        body = resp.read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

