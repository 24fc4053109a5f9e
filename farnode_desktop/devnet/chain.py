"""The devnet's chain: an in-process EVM (eth-tester) with the FarToken payout token deployed, and a small
JSON-RPC endpoint on loopback so other processes can read it with a plain web3 HTTPProvider."""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from farnode_desktop.core.checked_files import loads_bounded, recursion_limit_kept
from farnode_desktop.core.errors import FarNodeError

MAX_RPC_BODY = 1024 * 1024  # a JSON-RPC request (a batch included)
# The app's web3 needs only reads and raw (signed) transactions; the unlocked tester accounts (the treasury
# among them) must not be spendable by anyone who can reach the port.
RPC_METHODS = frozenset({
    "web3_clientVersion", "net_version", "eth_chainId", "eth_blockNumber", "eth_getBlockByNumber",
    "eth_getBlockByHash", "eth_getTransactionByHash", "eth_getTransactionReceipt", "eth_getBalance",
    "eth_getCode", "eth_call", "eth_estimateGas", "eth_gasPrice", "eth_maxPriorityFeePerGas",
    "eth_feeHistory", "eth_getLogs", "eth_getTransactionCount", "eth_sendRawTransaction",
})


def resources_dir() -> Path:
    """resources/ in a source checkout, a frozen build (PyInstaller) or where FARNODE_RESOURCES points."""
    override = os.environ.get("FARNODE_RESOURCES")
    candidates = [Path(override)] if override else []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.append(Path(frozen) / "resources")
    candidates.append(Path(__file__).resolve().parents[2] / "resources")
    for path in candidates:
        if (path / "contracts").is_dir():
            return path
    raise FarNodeError("the contract artifacts (resources/contracts) are missing from this installation")


def contract_artifact(name: str = "FarToken") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((resources_dir() / "contracts" / f"{name}.json").read_text("utf-8"))
    return data


def to_json_rpc(value: Any) -> Any:
    """web3's Python-side values back into JSON-RPC wire form: quantities and bytes as 0x-hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): to_json_rpc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_rpc(v) for v in value]
    return str(value)


def _untyped(value: object) -> Any:
    return value


class DevChain:
    """A fresh chain per instance. The treasury is a key made here at start from the OS's randomness, held only
    in this object and never written anywhere; it is not one of eth-tester's well-known, unlocked accounts,
    and the JSON-RPC sends only raw transactions, so nobody else on the machine can move its tokens."""

    def __init__(self, supply: int = 10**9 * 10**18) -> None:
        with recursion_limit_kept():  # web3's tester backend imports py-evm, which raises the limit to 12,288
            from eth_account import Account
            from web3 import EthereumTesterProvider, Web3

            self.w3: Any = _untyped(Web3(EthereumTesterProvider()))
        self.lock = threading.RLock()  # eth-tester is not thread-safe
        self.chain_id: int = int(self.w3.eth.chain_id)
        self._treasury_account: Any = Account.create()  # never leaves this object
        self.treasury: str = str(self._treasury_account.address)
        gas_money = self.w3.eth.send_transaction(  # eth-tester's funded account pays the treasury's gas
            {"from": self.w3.eth.accounts[0], "to": self.treasury, "value": 10**21}
        )
        self.w3.eth.wait_for_transaction_receipt(gas_money)
        artifact = contract_artifact()
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self._send(factory.constructor(supply))
        self.token_address: str = str(receipt["contractAddress"])
        self.token = self.w3.eth.contract(address=self.token_address, abi=artifact["abi"])

    def _send(self, call: Any) -> Any:
        """Sign `call` with the treasury's key and mine it; returns the receipt."""
        with self.lock:
            tx = call.build_transaction({
                "from": self.treasury, "chainId": self.chain_id,
                "nonce": self.w3.eth.get_transaction_count(self.treasury),
            })
            signed = self._treasury_account.sign_transaction(tx)
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            return self.w3.eth.wait_for_transaction_receipt(tx_hash)

    def pay(self, claim_id: str, to: str, value: int) -> str:
        """Send a payout from the treasury; returns the transaction hash (mined at once)."""
        receipt = self._send(self.token.functions.payout(bytes.fromhex(claim_id.removeprefix("0x")), to, value))
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def transfer(self, to: str, value: int) -> str:
        """A plain treasury transfer (no claim id): used by tests for a payout that does not match."""
        receipt = self._send(self.token.functions.transfer(to, value))
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def balance_of(self, owner: str) -> int:
        with self.lock:
            return int(self.token.functions.balanceOf(owner).call())

    def rpc(self, method: str, params: list[Any]) -> Any:
        with self.lock:
            return to_json_rpc(self.w3.manager.request_blocking(method, params))


def _rpc_reply(chain: DevChain, call: Any) -> dict[str, Any]:
    ident = call.get("id") if isinstance(call, dict) else None
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32600, "message": "invalid request"}}
    method, params = call["method"], call.get("params") or []
    if method not in RPC_METHODS:
        return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": f"{method} not allowed"}}
    try:
        return {"jsonrpc": "2.0", "id": ident, "result": chain.rpc(method, list(params))}
    except Exception as exc:
        if type(exc).__name__ == "TransactionNotFound":
            return {"jsonrpc": "2.0", "id": ident, "result": None}
        return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32000, "message": str(exc)}}


class RpcServer:
    """JSON-RPC over HTTP on 127.0.0.1 (a free port), forwarding to a DevChain."""

    def __init__(self, chain: DevChain, host: str = "127.0.0.1", port: int = 0) -> None:
        outer = chain

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = self.headers.get("Content-Length") or "0"
                try:
                    if not length.isascii() or not length.isdigit() or int(length) > MAX_RPC_BODY:
                        raise ValueError(f"the body must come with a Content-Length of at most {MAX_RPC_BODY}")
                    body = loads_bounded(self.rfile.read(int(length)).decode("utf-8") or "null")
                except ValueError as exc:
                    error = {"code": -32700, "message": f"parse error: {exc}"}
                    reply: Any = {"jsonrpc": "2.0", "id": None, "error": error}
                else:
                    reply = [_rpc_reply(outer, c) for c in body] if isinstance(body, list) else _rpc_reply(
                        outer, body)
                raw = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="devnet-rpc", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
