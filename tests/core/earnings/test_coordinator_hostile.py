"""A hostile coordinator (and chain RPC) on loopback, talked to by the real CoordinatorClient, ClaimService,
ClaimFactory and AppCore: one payout never confirms two claims, nothing is signed that the app did not check,
a claim never blocks forever, and no reply crashes, hangs, floods or redirects the app. Future changes must
pass this module."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.earnings.claim_factory import ClaimFactory
from farnode_desktop.core.earnings.claims import SETTLE_GRACE_S, ClaimService
from farnode_desktop.core.earnings.coordinator import (
    BoundedTransport,
    CoordinatorBadResponse,
    CoordinatorClient,
    CoordinatorRejected,
    CoordinatorUnreachable,
)
from farnode_desktop.core.earnings.eip712 import message_digest, payout_claim_message
from farnode_desktop.core.earnings.ledger import ClaimState, Ledger
from farnode_desktop.core.earnings.network import pin_local_devnet
from farnode_desktop.core.earnings.payouts import ChainReader, ChainUnreachable
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.gpus.nvml_fake import FakeNvml
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.devnet import Devnet
from farnode_desktop.devnet.demo import MemoryKeyring
from tests.core.test_app_core import FIXTURES, RecordedSupervisor
from tests.devnet.helpers import FakeRpc, KeySigner, devnet_networks, devnet_terms, report_usage

PEER = "12D3KooWHostilePeer"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    drip_s: float = 0.0  # send the body one byte at a time, this long apart


Route = Callable[[str, str, bytes], Reply | None]  # (method, path, body) -> a reply, or None to forward


class Hostile:
    """A coordinator on loopback: each request goes to `route`; what it leaves (None) is forwarded to a real
    devnet coordinator, so a test changes only the answers it wants to be hostile."""

    def __init__(self, upstream: str = "") -> None:
        self.upstream = upstream
        self.route: Route = lambda m, p, b: None
        self.hits: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hits.append((self.command, self.path))
                reply = outer.route(self.command, self.path, body) or outer.forward(self.command, self.path, body)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    if not reply.drip_s:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if reply.drip_s:
                        for i in range(len(reply.body)):
                            self.wfile.write(reply.body[i:i + 1])
                            self.wfile.flush()
                            time.sleep(reply.drip_s)
                    else:
                        self.wfile.write(reply.body)
                except OSError:
                    return  # the client hung up: that is what a bounded client does

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, method: str, path: str, body: bytes) -> Reply:
        import urllib.error
        import urllib.request

        req = urllib.request.Request(self.upstream + path, data=body or None, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Reply(resp.status, resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Reply(exc.code, exc.read())

    def upstream_json(self, path: str) -> Any:
        return json.loads(self.forward("GET", path, b"").body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile(devnet: Devnet) -> Iterator[Hostile]:
    assert devnet.info is not None
    server = Hostile(devnet.info.coordinator_url)
    yield server
    server.close()


def js(body: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


def _earn(devnet: Devnet, signer: KeySigner, tokens: int = 1000) -> None:
    assert devnet.info is not None
    CoordinatorClient(devnet.info.coordinator_url).bind_node(signer, PEER, devnet_terms(devnet.info))
    spans = [{"peer_id": PEER, "start_block": 0, "end_block": 4, "tokens": tokens}]
    assert report_usage(devnet.info, spans)[0] == 200


def _service(devnet: Devnet, hostile: Hostile, signer: KeySigner, clock: ManualClock | None = None) -> ClaimService:
    assert devnet.info is not None
    settings = Settings(coordinator_url=hostile.url, chain_rpc_url=devnet.info.rpc_url)
    return ClaimFactory(settings, networks=devnet_networks(devnet.info)).claim_service(
        signer, Ledger(AppPaths.default().ledger_file), clock=clock)


def _claim_reply(body: bytes, state: str, tx_hash: str | None) -> dict[str, Any]:
    """The Claim a coordinator would return for the claim posted in `body`."""
    posted = json.loads(body)
    msg = posted["message"]
    typed = payout_claim_message(_domain(posted["domain"]), msg["wallet"], amount=msg["amount"], fee=msg["fee"],
                                 nonce=msg["nonce"], deadline=msg["deadline"])
    return {"claim_id": message_digest(typed), "wallet": msg["wallet"], "amount": str(msg["amount"]),
            "fee": str(msg["fee"]), "net_amount": str(msg["amount"] - msg["fee"]), "nonce": msg["nonce"],
            "deadline": msg["deadline"], "state": state, "reason": None, "tx_hash": tx_hash, "credits": []}


def _domain(d: dict[str, Any]) -> Any:
    from farnode_desktop.core.earnings.eip712 import Domain

    return Domain(d["chainId"], d["verifyingContract"])


# -- one payout proves one claim ---------------------------------------------------------------------------
def test_one_real_payout_reused_for_three_claims_confirms_exactly_one(
    devnet: Devnet, hostile: Hostile, farnode_home: Path
) -> None:
    signer = KeySigner()
    _earn(devnet, signer, tokens=3000)
    first_tx: list[str] = []
    known: dict[str, dict[str, Any]] = {}
    frozen = hostile.upstream_json(f"/v1/wallets/{signer.address()}/earnings")  # the claimable before claim 1

    def route(method: str, path: str, body: bytes) -> Reply | None:
        if method == "GET" and path.startswith(f"/v1/wallets/{signer.address()}/earnings"):
            live = hostile.upstream_json(path)  # the real next nonce, but the claimable never goes down
            return js({**live, "claimable": frozen["claimable"], "confirmed": frozen["confirmed"]})
        if method == "POST" and path == "/v1/claims":
            if not first_tx:  # the first claim is really paid by the devnet
                reply = hostile.forward(method, path, body)
                first_tx.append(json.loads(reply.body)["tx_hash"])
                return reply
            claim = _claim_reply(body, "paid", first_tx[0])  # later ones: "paid", with the first payout
            known[claim["claim_id"]] = claim
            return js(claim, 201)
        if method == "GET" and path.startswith("/v1/claims/") and path.rsplit("/", 1)[1] in known:
            return js(known[path.rsplit("/", 1)[1]])
        return None

    hostile.route = route
    service = _service(devnet, hostile, signer)
    records = [service.follow(service.start(service.quote()), timeout_s=10) for _ in range(3)]
    states = [r.state for r in records]
    assert states == [ClaimState.CONFIRMED, ClaimState.FAILED, ClaimState.FAILED], [r.reason for r in records]
    for r in records[1:]:
        assert r.tx_hash == first_tx[0] and "does not pay this claim" in r.reason
    paid_once = records[0].net_amount
    assert devnet.chain.balance_of(signer.address()) == paid_once
    assert [service._ledger.payout(r.id) is not None for r in records] == [True, False, False]


# -- what gets signed ----------------------------------------------------------------------------------------
def test_app_core_with_a_coordinator_naming_a_chain_1_rpc_signs_nothing(
    devnet: Devnet, hostile: Hostile, tmp_path: Path
) -> None:
    """The desktop app with no chain RPC set: the loopback coordinator's RPC hint says chain 1 (and so does
    the coordinator); the app reads the chain through the RPC its installation pins for the devnet, not the hint,
    so nothing is signed."""
    assert devnet.info is not None
    signer = KeySigner()
    _earn(devnet, signer)
    liar = FakeRpc({"eth_chainId": "0x1"}, upstream=devnet.info.rpc_url)
    network = hostile.upstream_json("/v1/network")
    hostile.route = lambda m, p, b: js({**network, "chain_id": 1, "rpc_url": liar.url}) if p == "/v1/network" else None
    core = _app_core(tmp_path, Settings(coordinator_url=hostile.url, serve_on_launch=False), devnet)
    try:
        core.wallet().import_hex(signer.key)  # type: ignore[union-attr]
        service = core.claim_service()
        with pytest.raises(FarNodeError, match=f"pays on chain 1 but your chain RPC is chain {devnet.info.chain_id}"):
            service.start(service.quote())
        assert "eth_chainId" not in liar.calls  # the coordinator's RPC hint was never used
        core.start(serve=True)  # nodes serving, with peer ids to bind
        with pytest.raises(FarNodeError, match="chain 1"):
            core.bind_nodes()
        assert core.ledger.claims() == [] and not [h for h in hostile.hits if h[0] == "POST"]
    finally:
        liar.close()
        core.shutdown(timeout_s=1)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"verifying_contract": "0x" + "22" * 20, "token": "0x" + "22" * 20}, "pays in token 0x2222"),
        ({"verifying_contract": "0x" + "22" * 20}, "names contract 0x2222"),
        ({"chain_id": 5}, "pays on chain 5"),
        ({"claim_deadline_seconds": 10**15}, "'claim_deadline_seconds'"),
    ],
)
def test_wallet_bind_checks_chain_contract_and_deadline_before_signing(
    devnet: Devnet, hostile: Hostile, farnode_home: Path, change: dict[str, Any], why: str
) -> None:
    assert devnet.info is not None
    network = hostile.upstream_json("/v1/network")
    hostile.route = lambda m, p, b: js({**network, **change}) if p == "/v1/network" else None
    signed: list[dict[str, Any]] = []

    class Watching(KeySigner):
        def sign_typed_data(self, full_message: dict[str, Any]) -> str:
            signed.append(full_message)
            return super().sign_typed_data(full_message)

    factory = ClaimFactory(Settings(coordinator_url=hostile.url, chain_rpc_url=devnet.info.rpc_url),
                           networks=devnet_networks(devnet.info))
    client = factory.client()
    with pytest.raises(FarNodeError, match=why):
        client.bind_node(Watching(), PEER, factory.terms(client))
    assert signed == [] and ("POST", "/v1/nodes/bind") not in hostile.hits


@pytest.mark.parametrize(
    ("field_changes", "problem"),
    [
        ({"fee": "1"}, "different fees"),
        ({"claimable": str(10**30)}, "more claimable than confirmed"),
    ],
)
def test_a_claim_the_replies_do_not_support_is_not_signed(
    devnet: Devnet, hostile: Hostile, farnode_home: Path, field_changes: dict[str, Any], problem: str
) -> None:
    signer = KeySigner()
    _earn(devnet, signer)
    path = f"/v1/wallets/{signer.address()}/earnings"
    hostile.route = lambda m, p, b: js({**hostile.upstream_json(p), **field_changes}) if p.startswith(path) else None
    service = _service(devnet, hostile, signer)
    quote = service.quote()
    assert problem in quote.problem
    with pytest.raises(FarNodeError, match="no claim was made"):
        service.start(quote)


# -- every claim ends ------------------------------------------------------------------------------------------
def test_paid_with_a_transaction_that_never_appears_fails_after_the_deadline(
    devnet: Devnet, hostile: Hostile, farnode_home: Path
) -> None:
    signer = KeySigner()
    _earn(devnet, signer)
    ghost = "0x" + "5a" * 32
    hostile.route = lambda m, p, b: js(_claim_reply(b, "paid", ghost), 201) if p == "/v1/claims" else (
        js({"error": {"code": "unknown_claim", "message": "gone"}}, 404) if p.startswith("/v1/claims/") else None)
    clock = ManualClock(wall_start=time.time())
    service = _service(devnet, hostile, signer, clock)
    record = service.start(service.quote())
    assert record.state is ClaimState.PAID
    clock.advance(1800)
    assert service.advance(record).state is ClaimState.PAID  # still within its time: keep waiting
    clock.advance(3600 + SETTLE_GRACE_S)
    failed = service.advance(record)
    assert failed.state is ClaimState.FAILED and "never appeared on chain" in failed.reason
    hostile.route = lambda m, p, b: None  # the honest coordinator again: a new claim goes out and is paid
    fresh = service.follow(service.start(service.quote()), timeout_s=10)
    assert fresh.state is ClaimState.CONFIRMED, fresh.reason


def test_accepted_forever_fails_after_the_deadline_and_a_new_claim_can_go(
    devnet: Devnet, hostile: Hostile, farnode_home: Path
) -> None:
    signer = KeySigner()
    _earn(devnet, signer)
    answers: dict[str, dict[str, Any]] = {}

    def route(method: str, path: str, body: bytes) -> Reply | None:
        if path == "/v1/claims":
            claim = _claim_reply(body, "accepted", None)
            answers[claim["claim_id"]] = claim
            return js(claim, 201)
        if path.startswith("/v1/claims/"):
            return js(answers[path.rsplit("/", 1)[1]])
        return None

    hostile.route = route
    clock = ManualClock(wall_start=time.time())
    service = _service(devnet, hostile, signer, clock)
    record = service.start(service.quote())
    assert record.state is ClaimState.SUBMITTED
    with pytest.raises(FarNodeError, match="still in progress"):
        service.start(service.quote())
    clock.advance(3600 + SETTLE_GRACE_S + 1)
    [(done, _)] = service.resume_all()
    assert done.state is ClaimState.FAILED and "did not pay it" in done.reason
    assert service.start(service.quote()).state is ClaimState.SUBMITTED  # no longer blocked


def test_the_desktop_app_resumes_an_unfinished_claim_at_start(
    devnet: Devnet, tmp_path: Path
) -> None:
    """A claim whose answer was lost (left signed) is picked up by AppCore.start on its own worker thread."""
    assert devnet.info is not None
    signer = KeySigner()
    _earn(devnet, signer)
    settings = Settings(coordinator_url=devnet.info.coordinator_url, chain_rpc_url=devnet.info.rpc_url,
                        serve_on_launch=False)
    paths = AppPaths.under(tmp_path)
    down = ClaimFactory(Settings(coordinator_url=f"http://127.0.0.1:{_free_port()}",
                                 chain_rpc_url=devnet.info.rpc_url), networks=devnet_networks(devnet.info))
    ledger = Ledger(paths.ensure().ledger_file)
    service = ClaimService(signer, down.client(), ledger, ChainReader(devnet.info.rpc_url),
                           networks=devnet_networks(devnet.info))
    quote = ClaimFactory(settings, networks=devnet_networks(devnet.info)).claim_service(signer, ledger).quote()
    with pytest.raises(CoordinatorUnreachable):
        service.start(quote)
    ledger.close()
    core = _app_core(tmp_path, settings, devnet)
    try:
        core.wallet().import_hex(signer.key)  # type: ignore[union-attr]
        core.start()
        assert core._claims_thread is not None and core._claims_thread.name == "claims-resume"
        assert core._claims_thread is not threading.main_thread()
        core._claims_thread.join(timeout=30)
        [claim] = core.ledger.claims()
        assert claim.state is ClaimState.CONFIRMED, claim.reason
        assert devnet.chain.balance_of(signer.address()) == quote.net_amount
    finally:
        core.shutdown(timeout_s=1)


def _app_core(tmp_path: Path, settings: Settings, devnet: Devnet) -> AppCore:
    """An AppCore whose installation pins the devnet's token (the local manifest, as the demo writes it)."""
    assert devnet.info is not None
    paths = AppPaths.under(tmp_path)
    settings.model = "meta-llama/Llama-2-70b-chat-hf"
    SettingsStore(paths.ensure().config_file).save(settings)
    pin_local_devnet(paths, devnet.info.pinned_network())
    nvml = FakeNvml(json.loads((FIXTURES / "linux_rtx4090_rtx3060.json").read_text()))
    core = AppCore(paths, nvml=nvml, supervisor_factory=RecordedSupervisor, sample_gpus=False,
                   keystore=MemoryKeyring())
    core.settings = settings
    return core


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- numbers, sizes, time, text and redirects from the network ---------------------------------------------------
WALLET = "0x88782009F6435E58A3050D42DdE091252d26bbD1"
EARNINGS: dict[str, Any] = {
    "wallet": WALLET, "symbol": "FAR", "decimals": 18, "estimated": "0", "confirmed": "10", "claimable": "10",
    "pending": "0", "paid": "0", "min_claim": "1", "fee": "1", "next_nonce": 0, "as_of": 1.5, "nodes": [],
    "history": [],
}
NETWORK: dict[str, Any] = {
    "chain_id": 131277322940537, "token": WALLET, "verifying_contract": WALLET, "min_claim": "1", "fee": "1",
    "rate_per_block_token": "1", "settle_seconds": 0, "claim_deadline_seconds": 3600, "rpc_url": None,
}


@pytest.fixture
def bare() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.close()


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"claimable": "9" * 5000}, "claimable"),
        ({"claimable": "²"}, "claimable"),
        ({"claimable": "١٢"}, "claimable"),  # Arabic-Indic digits
        ({"claimable": str(2**256)}, "claimable"),
        ({"next_nonce": 2**63}, "next_nonce"),
        ({"decimals": 10**9}, "decimals"),
        ({"as_of": 1e308}, "as_of"),
        ({"symbol": "FAR\x1b[2J"}, "symbol"),
        ({"nodes": [{"peer_id": "p\x1b]0;pwned\x07", "bound_at": 1, "served_tokens": 1, "requests": 1,
                     "estimated": "0", "confirmed": "0"}]}, "nodes[0].peer_id"),
        ({"history": [{"day": "\uff12\uff10\uff12\uff16-11-22", "earned": "1", "served_tokens": 1,
                       "requests": 1}]}, "history[0].day"),  # full-width digits
    ],
)
def test_out_of_range_numbers_and_text_are_named_not_crashes(
    bare: Hostile, change: dict[str, Any], field_name: str
) -> None:
    bare.route = lambda m, p, b: js({**EARNINGS, **change})
    with pytest.raises(CoordinatorBadResponse) as err:
        CoordinatorClient(bare.url).earnings(WALLET)
    assert f"'{field_name}'" in str(err.value)


@pytest.mark.parametrize(
    ("change", "field_name"),
    [({"claim_deadline_seconds": 2**64}, "claim_deadline_seconds"), ({"chain_id": 2**64}, "chain_id"),
     ({"settle_seconds": -1}, "settle_seconds"), ({"fee": "1e3"}, "fee")],
)
def test_network_numbers_out_of_range_are_named(bare: Hostile, change: dict[str, Any], field_name: str) -> None:
    bare.route = lambda m, p, b: js({**NETWORK, **change})
    with pytest.raises(CoordinatorBadResponse, match=f"'{field_name}'"):
        CoordinatorClient(bare.url).network()


def test_nan_infinity_and_deep_nesting_are_not_json(bare: Hostile) -> None:
    for body in (b'{"as_of": NaN}', b'{"as_of": Infinity}', b"[" * 100_000 + b"]" * 100_000,
                 b'{"n": ' + b"9" * 5000 + b"}"):
        bare.route = lambda m, p, b, body=body: Reply(200, body)
        with pytest.raises(CoordinatorBadResponse, match="not JSON"):
            CoordinatorClient(bare.url).earnings(WALLET)


def test_a_huge_error_is_not_read_and_a_long_one_is_cut_and_escaped(
    devnet: Devnet, hostile: Hostile, farnode_home: Path
) -> None:
    hostile.route = lambda m, p, b: Reply(400, b'{"error": {"code": "x", "message": "' + b"A" * (50 << 20) + b'"}}')
    started = time.monotonic()
    with pytest.raises(CoordinatorBadResponse, match="larger than 8 MB"):
        CoordinatorClient(hostile.url).network()
    assert time.monotonic() - started < 20
    signer = KeySigner()
    _earn(devnet, signer)
    message = "\x1b[31mno\x1b[0m\nsecond line\u202e" + "B" * 200_000
    # a code FarNode has no words of its own for: the coordinator's message is shown, escaped and cut
    hostile.route = lambda m, p, b: js({"error": {"code": "odd_refusal", "message": message}}, 400) if (
        p == "/v1/claims") else None
    service = _service(devnet, hostile, signer)
    record = service.start(service.quote())
    assert record.state is ClaimState.REJECTED
    for text in (record.reason, *(r for _, r, _ in service._ledger.claim_events(record.id))):
        assert len(text) <= 600 and "\x1b" not in text and "\n" not in text and "\u202e" not in text
    assert "\\x1b[31mno" in record.reason and "more characters" in record.reason


def test_every_read_is_bounded_in_total_time(bare: Hostile) -> None:
    """A server that drips one byte every 0.2 s never hangs the app: the whole request has a deadline."""
    bare.route = lambda m, p, b: Reply(200, json.dumps(EARNINGS).encode(), drip_s=0.2)
    client = CoordinatorClient(bare.url, transport=BoundedTransport(timeout_s=1.0, total_s=2.0))
    started = time.monotonic()
    with pytest.raises(CoordinatorUnreachable, match="within 2 s"):
        client.earnings(WALLET)
    assert time.monotonic() - started < 4


def test_a_server_that_never_answers_is_given_up_on(bare: Hostile) -> None:
    bare.route = lambda m, p, b: (time.sleep(5), None)[1] or Reply(200, b"{}")
    client = CoordinatorClient(bare.url, transport=BoundedTransport(timeout_s=1.0, total_s=1.5))
    started = time.monotonic()
    with pytest.raises(CoordinatorUnreachable):
        client.network()
    assert time.monotonic() - started < 3


def test_redirects_are_never_followed(bare: Hostile) -> None:
    elsewhere = Hostile()
    try:
        for status in (301, 302, 307, 308):
            bare.route = lambda m, p, b, s=status: Reply(s, b"", {"Location": elsewhere.url + p})
            with pytest.raises(CoordinatorBadResponse, match="does not follow redirects"):
                CoordinatorClient(bare.url).network()
            with pytest.raises(ChainUnreachable, match=f"HTTP {status}"):
                ChainReader(bare.url).chain_id()
        assert elsewhere.hits == []
    finally:
        elsewhere.close()


def test_a_rejection_code_from_the_network_is_kept_plain(bare: Hostile) -> None:
    bare.route = lambda m, p, b: js({"error": {"code": "\x1b[2J" * 10, "message": 5}}, 409)
    with pytest.raises(CoordinatorRejected) as err:
        CoordinatorClient(bare.url).network()
    assert err.value.code == "error" and "HTTP 409" in str(err.value)
