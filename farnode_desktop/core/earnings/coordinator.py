"""Client for the Far Labs coordinator: bind nodes, read earnings, submit signed payout claims (HTTPS only,
plain HTTP only to this machine)."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

from farnode_desktop.core.earnings.coordinator_models import (
    Binding,
    ClaimStatus,
    CoordinatorBadResponse,
    Earnings,
    NetworkInfo,
    load_json,
    safe_text,
)
from farnode_desktop.core.earnings.eip712 import Domain, bind_node_message
from farnode_desktop.core.earnings.signing_policy import SigningTerms, check_typed_data
from farnode_desktop.core.errors import FarNodeError, UserInputError

_CODE = re.compile(r"[a-z0-9_]{1,40}")

__all__ = [
    "BoundedTransport",
    "CoordinatorBadResponse",
    "CoordinatorClient",
    "CoordinatorRejected",
    "CoordinatorUnreachable",
    "HttpResponse",
    "HttpTransport",
    "ReplyTooLarge",
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
    location: str = ""  # a redirect's target, reported and never followed


class HttpTransport(Protocol):
    """The HTTP boundary: one request, one response; raises OSError when the server cannot be reached."""

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> HttpResponse: ...


class Signer(Protocol):
    """What the client needs from the wallet: its address and EIP-712 signatures (never the key)."""

    def address(self) -> str: ...

    def sign_typed_data(self, full_message: dict[str, Any]) -> str: ...


MAX_REPLY_BYTES = 8 * 1024 * 1024  # the largest reply read from the network (a claim lists its credits)
TOTAL_TIMEOUT_S = 30.0  # one request, connect to last byte, however slowly the server drips


class BoundedTransport:
    """The real transport (stdlib http.client, certificate checks on): every request bounded in total time
    and reply size, and redirects never followed (a 3xx is answered as it is)."""

    def __init__(self, timeout_s: float = 15.0, total_s: float = TOTAL_TIMEOUT_S,
                 max_bytes: int = MAX_REPLY_BYTES) -> None:
        self.timeout_s = min(timeout_s, total_s)
        self.total_s = total_s
        self.max_bytes = max_bytes

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> HttpResponse:
        parts = urllib.parse.urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=self.timeout_s,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self.timeout_s)
        expired = threading.Event()
        opened: list[socket.socket] = []

        def cut() -> None:  # a read still going at the total time is ended by shutting the socket down
            expired.set()
            for sock in opened:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(self.total_s, cut)
        timer.daemon = True
        timer.start()
        try:
            conn.connect()  # bounded by timeout_s; the response keeps this socket even after conn lets go
            if conn.sock is not None:
                opened.append(conn.sock)
            if expired.is_set():
                cut()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            declared = resp.getheader("Content-Length") or ""
            if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
                raise ReplyTooLarge(self.max_bytes)
            data = resp.read(self.max_bytes + 1)
            if len(data) > self.max_bytes:
                raise ReplyTooLarge(self.max_bytes)
            if expired.is_set():
                raise OSError(f"no complete answer within {self.total_s:g} s")
            return HttpResponse(status=resp.status, body=data, location=resp.getheader("Location") or "")
        except (http.client.HTTPException, ValueError) as exc:
            if expired.is_set():
                raise OSError(f"no complete answer within {self.total_s:g} s") from None
            raise OSError(f"a broken HTTP answer ({type(exc).__name__})") from None
        except OSError as exc:
            if expired.is_set():
                raise OSError(f"no complete answer within {self.total_s:g} s") from None
            raise OSError(safe_text(str(exc) or type(exc).__name__, 200)) from None
        finally:
            timer.cancel()
            conn.close()


UrllibTransport = BoundedTransport  # the name earlier code and tests use


class ReplyTooLarge(FarNodeError):
    """A reply larger than FarNode reads from the network."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the reply is larger than {limit // (1024 * 1024)} MB, so FarNode did not read it",
                         hint="the server may be misbehaving; try again later or report it")


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
        except ReplyTooLarge as exc:
            raise CoordinatorBadResponse(f"the coordinator's reply to {method} {path}: {exc}", hint=exc.hint) from None
        except OSError as exc:
            raise CoordinatorUnreachable(
                f"the coordinator at {self.base_url} could not be reached ({safe_text(str(exc), 200)})",
                hint="check your internet connection; nothing is lost, FarNode will retry",
            ) from None
        if 300 <= resp.status < 400:
            raise CoordinatorBadResponse(
                f"the coordinator answered {method} {path} with a redirect (HTTP {resp.status}"
                f" to {safe_text(resp.location, 120) or 'nowhere'}); FarNode does not follow redirects",
                hint="set the coordinator's final address in Settings",
            )
        try:
            data = load_json(resp.body) if resp.body else None
        except ValueError:
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
            code = err.get("code") if isinstance(err, dict) else None
            message = err.get("message") if isinstance(err, dict) else None
            code = code if isinstance(code, str) and _CODE.fullmatch(code) else "error"
            message = safe_text(message, 300) if isinstance(message, str) else ""
            raise CoordinatorRejected(code, message or f"HTTP {resp.status}", resp.status)
        return data

    def network(self) -> NetworkInfo:
        return NetworkInfo.parse(self._call("GET", "/v1/network"))

    def earnings(self, wallet: str, days: int = 30) -> Earnings:
        earnings = Earnings.parse(self._call("GET", f"/v1/wallets/{wallet}/earnings?days={int(days)}"))
        if earnings.wallet.lower() != wallet.lower():
            raise CoordinatorBadResponse("the coordinator sent the earnings of a different wallet")
        return earnings

    def bind_node(self, signer: Signer, peer_id: str, terms: SigningTerms, now: float | None = None) -> Binding:
        """Tell the coordinator to pay this node's work to the wallet (signed by the wallet), on the chain and
        contract in `terms` (checked on the provider's own chain by `signing_policy.verify_terms`)."""
        if not peer_id.strip():
            raise UserInputError("the node has no peer id yet", hint="start the node first")
        wallet = signer.address()
        nonce = self.earnings(wallet, days=1).next_nonce
        now = time.time() if now is None else now
        deadline = int(now) + min(terms.network.claim_deadline_seconds, 3600)
        typed = bind_node_message(Domain(terms.chain_id, terms.verifying_contract), wallet, peer_id, nonce, deadline)
        check_typed_data(typed, terms, wallet, now)
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
