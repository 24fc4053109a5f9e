"""Client for the Far Labs coordinator: bind nodes, read earnings, submit signed payout claims (HTTPS only,
plain HTTP only to this machine)."""

from __future__ import annotations

import ipaddress
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from farnode_desktop.core.coordinator_models import (
    Binding,
    ClaimStatus,
    CoordinatorBadResponse,
    Earnings,
    NetworkInfo,
)
from farnode_desktop.core.eip712 import Domain, bind_node_message
from farnode_desktop.core.errors import FarNodeError, UserInputError

__all__ = [
    "CoordinatorBadResponse",
    "CoordinatorClient",
    "CoordinatorRejected",
    "CoordinatorUnreachable",
    "HttpResponse",
    "HttpTransport",
    "Signer",
    "UrllibTransport",
    "check_url",
    "is_loopback",
]


class CoordinatorUnreachable(FarNodeError):
    """The coordinator could not be reached (nothing was decided on its side, as far as we know)."""


class CoordinatorRejected(FarNodeError):
    """The coordinator said no, with a reason code (e.g. `nonce_used`, `above_claimable`)."""

    def __init__(self, code: str, message: str, status: int, hint: str = "") -> None:
        super().__init__(f"the coordinator refused: {message}", hint=hint)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes


class HttpTransport(Protocol):
    """The HTTP boundary: one request, one response; raises OSError when the server cannot be reached."""

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> HttpResponse: ...


class Signer(Protocol):
    """What the client needs from the wallet: its address and EIP-712 signatures (never the key)."""

    def address(self) -> str: ...

    def sign_typed_data(self, full_message: dict[str, Any]) -> str: ...


class UrllibTransport:
    """The real transport (stdlib urllib; certificate checks on)."""

    def __init__(self, timeout_s: float = 15.0) -> None:
        self.timeout_s = timeout_s

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> HttpResponse:
        req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                return HttpResponse(status=resp.status, body=resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return HttpResponse(status=exc.code, body=exc.read())
        except urllib.error.URLError as exc:
            raise OSError(str(exc.reason)) from exc


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str = "coordinator") -> str:
    """The URL without a trailing slash; https anywhere, http only to this machine (loopback)."""
    parsed = urllib.parse.urlsplit(url.strip())
    host = parsed.hostname or ""
    if parsed.scheme not in ("http", "https") or not host:
        raise UserInputError(
            f"the {what} address {url!r} is not an http(s) URL", hint="use e.g. https://coordinator.farlabs.ai"
        )
    if parsed.scheme == "http" and not is_loopback(host):
        raise UserInputError(
            f"refusing plain http:// to {host}: earnings and claims to another machine must use https://",
            hint=f"use https://{parsed.netloc}{parsed.path} (plain http is only for 127.0.0.1/localhost)",
        )
    return url.strip().rstrip("/")


class CoordinatorClient:
    """Talks to one coordinator over an injected transport; every reply is validated."""

    def __init__(self, base_url: str, transport: HttpTransport | None = None) -> None:
        self.base_url = check_url(base_url)
        self._transport: HttpTransport = transport or UrllibTransport()

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Accept": "application/json", "User-Agent": "farnode-desktop"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            resp = self._transport.request(method, self.base_url + path, body, headers)
        except OSError as exc:
            raise CoordinatorUnreachable(
                f"the coordinator at {self.base_url} could not be reached ({exc})",
                hint="check your internet connection; nothing is lost, FarNode will retry",
            ) from None
        try:
            data = json.loads(resp.body.decode("utf-8")) if resp.body else None
        except (UnicodeDecodeError, ValueError):
            data = None
            if 200 <= resp.status < 300:
                raise CoordinatorBadResponse(
                    f"the coordinator's reply to {method} {path} is not JSON",
                    hint="the coordinator may be misconfigured; try again later",
                ) from None
        if resp.status >= 500:
            raise CoordinatorUnreachable(
                f"the coordinator had an internal error (HTTP {resp.status})",
                hint="nothing is lost; FarNode will retry later",
            )
        if resp.status >= 400:
            err = data.get("error") if isinstance(data, dict) else None
            code = str(err.get("code", "error")) if isinstance(err, dict) else "error"
            message = str(err.get("message", "")) if isinstance(err, dict) else ""
            raise CoordinatorRejected(code, message or f"HTTP {resp.status}", resp.status)
        return data

    def network(self) -> NetworkInfo:
        return NetworkInfo.parse(self._call("GET", "/v1/network"))

    def earnings(self, wallet: str, days: int = 30) -> Earnings:
        earnings = Earnings.parse(self._call("GET", f"/v1/wallets/{wallet}/earnings?days={int(days)}"))
        if earnings.wallet.lower() != wallet.lower():
            raise CoordinatorBadResponse("the coordinator sent the earnings of a different wallet")
        return earnings

    def bind_node(self, signer: Signer, peer_id: str, network: NetworkInfo | None = None) -> Binding:
        """Tell the coordinator to pay this node's work to the wallet (signed by the wallet)."""
        if not peer_id.strip():
            raise UserInputError("the node has no peer id yet", hint="start the node first")
        net = network or self.network()
        wallet = signer.address()
        nonce = self.earnings(wallet, days=1).next_nonce
        deadline = int(time.time()) + net.claim_deadline_seconds
        domain = Domain(net.chain_id, net.verifying_contract)
        typed = bind_node_message(domain, wallet, peer_id, nonce, deadline)
        signature = signer.sign_typed_data(typed)
        reply = self._call(
            "POST",
            "/v1/nodes/bind",
            {"domain": typed["domain"], "message": typed["message"], "signature": signature},
        )
        binding = Binding.parse(reply)
        if binding.peer_id != peer_id or binding.wallet.lower() != wallet.lower():
            raise CoordinatorBadResponse("the coordinator confirmed a different node or wallet binding")
        return binding

    def submit_claim(self, typed: dict[str, Any], signature: str) -> ClaimStatus:
        """Send a signed PayoutClaim; sending the same signed claim again returns the same claim."""
        body = {"domain": typed["domain"], "message": typed["message"], "signature": signature}
        reply = self._call("POST", "/v1/claims", body)
        return ClaimStatus.parse(reply)

    def claim(self, claim_id: str) -> ClaimStatus:
        return ClaimStatus.parse(self._call("GET", f"/v1/claims/{claim_id}"))
