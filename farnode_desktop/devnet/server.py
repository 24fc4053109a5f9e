"""The devnet coordinator's HTTP API (FastAPI): the endpoints of docs/coordinator-api.md on loopback. Every request
ends in a success or a 4xx saying why: bodies are bounded and read with the app's bounded JSON reader, and every
number is range-checked before the store sees it."""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from farnode_desktop.core.checked_files import loads_bounded
from farnode_desktop.core.earnings.eip712 import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    Domain,
    bind_node_message,
    message_digest,
    payout_claim_message,
    recover_signer,
)
from farnode_desktop.devnet.chain import DevChain
from farnode_desktop.devnet.store import MAX_STORED_INT, ApiError, CoordinatorStore, Span

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_PEER_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")  # libp2p peer ids are base58 / base32 text (as the app reads them)
MAX_SPANS = 256
MAX_BODY_BYTES = 64 * 1024  # a claim or binding is under 2 KiB; a usage report of 256 spans under 40 KiB
MAX_BODY_DEPTH = 8  # the deepest body (a usage report) nests 3 levels
# The largest value of each kind of whole number: uint256 for amounts and the chain id (compared, never stored);
# nonces, deadlines, blocks and token counts are stored in SQLite's 64-bit INTEGER and sent back as JSON numbers,
# so they stay JSON-safe (2^53 - 1) as the app reads them.
_UINT_MAX = {"uint256": 2**256 - 1, "count": MAX_STORED_INT}


def _field(obj: Any, name: str, kind: str) -> Any:
    """One field of a request body, checked; the error names it. Whole numbers come as JSON numbers or decimal
    strings of ASCII digits (str.isdigit alone accepts digits int() refuses, like superscripts)."""
    value = obj.get(name) if isinstance(obj, dict) else None
    ok = False
    if kind in _UINT_MAX:
        limit = _UINT_MAX[kind]
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= len(str(limit)):
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
        kind = f"whole number from 0 to {limit}"
    elif kind == "address":
        ok = isinstance(value, str) and bool(_ADDRESS.fullmatch(value))
    elif kind == "text":
        ok = isinstance(value, str) and 0 < len(value) <= 256
    elif kind == "peer_id":
        ok = isinstance(value, str) and bool(_PEER_ID.fullmatch(value))
        kind = "peer id (1 to 128 letters, digits, '.', '_' or '-')"
    elif kind == "object":
        ok = isinstance(value, dict)
    if not ok:
        raise ApiError(400, "bad_request", f"'{name}' is missing or not a valid {kind}")
    return value


async def json_body(request: Request) -> Any:
    """The request's JSON body, read at most MAX_BODY_BYTES and parsed by the app's bounded reader: 413 when it is
    larger, 400 when it is not UTF-8 JSON or nests deeper than MAX_BODY_DEPTH."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.isdigit():
            raise ApiError(400, "bad_request", "the Content-Length is not a number")
        if len(declared) > 12 or int(declared) > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return loads_bounded(raw.decode("utf-8"), max_depth=MAX_BODY_DEPTH)
    except ValueError as exc:  # UnicodeDecodeError included
        reason = "it is not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)[:200]
        raise ApiError(400, "bad_request", f"the body is not valid JSON: {reason}") from None


Body = Annotated[Any, Depends(json_body)]


def create_app(store: CoordinatorStore, chain: DevChain, gateway_token: str, rpc_url: str = "") -> FastAPI:
    app = FastAPI(title="Far Labs coordinator (devnet)", version="1")
    domain = Domain(chain.chain_id, chain.token_address)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())) or "the request"
        message = f"{where}: {first.get('msg', 'not valid')}"[:300]
        return JSONResponse({"error": {"code": "bad_request", "message": message}}, 400)

    def check_domain(body: Any) -> tuple[dict[str, Any], str]:
        d = _field(body, "domain", "object")
        if d.get("name") != DOMAIN_NAME or d.get("version") != DOMAIN_VERSION:
            raise ApiError(
                400, "wrong_domain", f"the domain must be {DOMAIN_NAME!r} version {DOMAIN_VERSION}"
            )
        if _field(d, "chainId", "uint256") != chain.chain_id:
            raise ApiError(400, "wrong_chain_id", f"this coordinator pays on chain {chain.chain_id}")
        if _field(d, "verifyingContract", "address").lower() != chain.token_address.lower():
            raise ApiError(400, "wrong_contract", f"the verifying contract is {chain.token_address}")
        signature = _field(body, "signature", "text")
        return _field(body, "message", "object"), signature

    def check_signer(typed: dict[str, Any], signature: str, wallet: str) -> None:
        try:
            signer = recover_signer(typed, signature)
        except Exception:
            raise ApiError(400, "bad_signature", "the signature is malformed") from None
        if signer.lower() != wallet.lower():
            raise ApiError(400, "bad_signature", "the signature does not match the wallet and message")

    @app.get("/v1/network")
    def network() -> dict[str, Any]:
        r = store.rules
        return {
            "chain_id": chain.chain_id,
            "token": chain.token_address,
            "verifying_contract": chain.token_address,
            "min_claim": str(r.min_claim),
            "fee": str(r.fee),
            "rate_per_block_token": str(r.rate_per_block_token),
            "settle_seconds": r.settle_seconds,
            "claim_deadline_seconds": r.claim_deadline_seconds,
            "rpc_url": rpc_url or None,
        }

    @app.post("/v1/nodes/bind")
    def bind(body: Body) -> dict[str, Any]:
        msg, signature = check_domain(body)
        wallet = _field(msg, "wallet", "address")
        peer_id, nonce = _field(msg, "peerId", "peer_id"), _field(msg, "nonce", "count")
        deadline = _field(msg, "deadline", "count")
        typed = bind_node_message(domain, wallet, peer_id, nonce, deadline)
        check_signer(typed, signature, wallet)
        with store.lock:
            if deadline < store._now():
                raise ApiError(400, "expired", "the binding's deadline has passed; sign it again")
            store.use_nonce(wallet, nonce, message_digest(typed))
            return store.bind(peer_id, wallet)

    @app.get("/v1/wallets/{wallet}/earnings")
    def earnings(wallet: str, days: int = 30) -> dict[str, Any]:
        if not _ADDRESS.fullmatch(wallet):
            raise ApiError(400, "bad_request", "'wallet' is not an address")
        return store.earnings(_canonical(wallet), max(1, min(days, 366)))

    @app.get("/v1/wallets/{wallet}/claims")
    def wallet_claims(wallet: str) -> dict[str, Any]:
        if not _ADDRESS.fullmatch(wallet):
            raise ApiError(400, "bad_request", "'wallet' is not an address")
        return {"claims": store.claims_of(_canonical(wallet))}

    @app.post("/v1/claims")
    def submit_claim(body: Body) -> JSONResponse:
        msg, signature = check_domain(body)
        wallet = _canonical(_field(msg, "wallet", "address"))
        amount, fee = _field(msg, "amount", "uint256"), _field(msg, "fee", "uint256")
        nonce, deadline = _field(msg, "nonce", "count"), _field(msg, "deadline", "count")
        typed = payout_claim_message(domain, wallet, amount=amount, fee=fee, nonce=nonce, deadline=deadline)
        check_signer(typed, signature, wallet)
        claim_id = message_digest(typed)
        with store.lock:
            existing = store.claim(claim_id)
            if existing is not None:  # the same signed claim again (a retry): same answer, no second payout
                return JSONResponse(existing, status_code=200)
            if fee != store.rules.fee:
                raise ApiError(400, "fee_mismatch", f"the fee is {store.rules.fee} wei")
            store.accept_claim(claim_id, wallet, amount, nonce, deadline)
        try:
            tx_hash = chain.pay(claim_id, wallet, amount - fee)
        except Exception as exc:
            store.finish_claim(claim_id, None, f"the payout transaction failed: {exc}")
        else:
            store.finish_claim(claim_id, tx_hash)
        return JSONResponse(store.claim(claim_id), status_code=201)

    @app.get("/v1/claims/{claim_id}")
    def get_claim(claim_id: str) -> dict[str, Any]:
        claim = store.claim(claim_id) if _HASH.fullmatch(claim_id) else None
        if claim is None:
            raise ApiError(404, "unknown_claim", f"there is no claim {claim_id}")
        return claim

    @app.post("/v1/gateway/usage")
    def usage(body: Body, authorization: Annotated[str, Header()] = "") -> dict[str, Any]:
        if not hmac.compare_digest(authorization.encode(), f"Bearer {gateway_token}".encode()):
            raise ApiError(401, "unauthorized", "a gateway token is required (Authorization: Bearer ...)")
        request_id, model = _field(body, "request_id", "text"), _field(body, "model", "text")
        raw_spans = body.get("spans")
        if not isinstance(raw_spans, list) or not 0 < len(raw_spans) <= MAX_SPANS:
            raise ApiError(400, "bad_request", f"'spans' must be a list of 1 to {MAX_SPANS} spans")
        spans = []
        for s in raw_spans:
            span = Span(
                _field(s, "peer_id", "peer_id"),
                _field(s, "start_block", "count"),
                _field(s, "end_block", "count"),
                _field(s, "tokens", "count"),
            )
            if span.end_block <= span.start_block or span.tokens == 0:
                raise ApiError(400, "bad_request", "each span needs end_block > start_block and tokens > 0")
            spans.append(span)
        return store.record_usage(request_id, model, spans)

    return app


def _canonical(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))
