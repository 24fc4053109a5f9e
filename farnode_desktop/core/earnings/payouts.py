"""On-chain proof of a payout: the receipt succeeded, and the token's own Payout log carries the id of the claim
the wallet signed, its recipient and its net amount; read over JSON-RPC from the provider's own RPC, every
read bounded in time and size and every value range-checked."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from farnode_desktop.core.earnings.coordinator import (
    BoundedTransport,
    HttpTransport,
    ReplyTooLarge,
    check_url,
)
from farnode_desktop.core.earnings.coordinator_models import MAX_INT, load_json, safe_text
from farnode_desktop.core.errors import FarNodeError

# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
BALANCE_OF = "0x70a08231"  # balanceOf(address)
MAX_RPC_BYTES = 4 * 1024 * 1024
MAX_LOGS = 1000
_HEX = re.compile(r"0x[0-9a-fA-F]{0,64}")
_DATA = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


def _keccak_text(text: str) -> str:
    from eth_hash.auto import keccak

    return "0x" + keccak(text.encode()).hex()


# emitted by FarToken.payout next to its Transfer; topic 1 is the claim id, topic 2 the recipient
PAYOUT_TOPIC = _keccak_text("Payout(bytes32,address,uint256)")


class ChainUnreachable(FarNodeError):
    """The chain RPC could not be reached, or answered with something that is not a chain's answer."""


class PayoutPending(FarNodeError):
    """The payout transaction is not in a block yet."""


class PayoutMismatch(FarNodeError):
    """The transaction exists but does not pay this claim's net amount to the wallet."""


@dataclass(frozen=True)
class PayoutProof:
    """What the chain shows for one payout: the block, and the Payout log that settled this claim."""

    tx_hash: str
    block_number: int
    token: str
    recipient: str
    value: int
    receipt: dict[str, Any]


@dataclass(frozen=True)
class _Log:
    address: str
    topics: tuple[str, ...]
    data: str


def _quantity(value: object, what: str, maximum: int = MAX_INT) -> int:
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) < 3:
        raise ChainUnreachable(f"the chain RPC sent a malformed {what}")
    number = int(value, 16)
    if number > maximum:
        raise ChainUnreachable(f"the chain RPC sent an out-of-range {what}")
    return number


def _match(value: object, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ChainUnreachable(f"the chain RPC sent a malformed {what}")
    return value.lower()


def _checksum(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))


class ChainReader:
    """Reads the chain through plain JSON-RPC over HTTP(S) to `rpc_url` (https, or http to loopback)."""

    def __init__(self, rpc_url: str | None = None, *, transport: HttpTransport | None = None,
                 timeout_s: float = 15.0, total_s: float = 30.0) -> None:
        if not rpc_url:
            raise FarNodeError(
                "no chain RPC address is set, so payouts cannot be checked on chain",
                hint="set the chain RPC in Settings (the devnet prints one)",
            )
        self.url = check_url(rpc_url, "chain RPC")
        self._transport: HttpTransport = transport or BoundedTransport(timeout_s, total_s, MAX_RPC_BYTES)
        self._id = 0

    def _rpc(self, method: str, params: list[Any], what: str) -> Any:
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "farnode"}
        try:
            resp = self._transport.request("POST", self.url, body, headers)
        except ReplyTooLarge as exc:
            raise ChainUnreachable(f"the chain RPC's answer while reading {what}: {exc}") from None
        except OSError as exc:
            raise ChainUnreachable(
                f"the chain RPC could not be reached while reading {what} ({safe_text(str(exc), 200)})",
                hint="check the chain RPC in Settings and your connection; the claim is kept and checked again",
            ) from None
        if resp.status != 200:
            where = f" to {safe_text(resp.location, 120)}" if resp.location else ""
            raise ChainUnreachable(f"the chain RPC answered HTTP {resp.status}{where} while reading {what}",
                                   hint="FarNode does not follow redirects; check the chain RPC in Settings")
        try:
            reply = load_json(resp.body)
        except ValueError:
            raise ChainUnreachable(f"the chain RPC's answer while reading {what} is not JSON") from None
        if not isinstance(reply, dict):
            raise ChainUnreachable(f"the chain RPC's answer while reading {what} is not a JSON-RPC reply")
        error = reply.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else None
            text = safe_text(message, 200) if isinstance(message, str) else "no reason given"
            raise ChainUnreachable(f"the chain RPC refused while reading {what}: {text}")
        if "result" not in reply:
            raise ChainUnreachable(f"the chain RPC's answer while reading {what} has no result")
        return reply["result"]

    def chain_id(self) -> int:
        return _quantity(self._rpc("eth_chainId", [], "the chain id"), "chain id")

    def code_hash(self, address: str) -> str:
        """keccak256 of the code deployed at `address` (the hash of empty code where there is none)."""
        from eth_hash.auto import keccak

        code = _match(self._rpc("eth_getCode", [address, "latest"], "a contract's code"), _DATA, "contract code")
        return "0x" + keccak(bytes.fromhex(code[2:])).hex()

    def token_balance(self, token: str, owner: str) -> int:
        data = BALANCE_OF + "0" * 24 + owner.lower().removeprefix("0x")
        result = self._rpc("eth_call", [{"to": token, "data": data}, "latest"], "a token balance")
        return _quantity(_match(result, _HASH, "token balance"), "token balance", 2**256 - 1)

    def confirm_payout(self, tx_hash: str, token: str, claim_id: str, recipient: str, value: int,
                       payout_contract: str | None = None) -> PayoutProof:
        """Check that `tx_hash` succeeded, that `payout_contract` (the token itself unless named) logged
        Payout(claim_id, recipient, value) and `token` the matching Transfer: the transaction pays this very claim,
        not merely some amount to the wallet. Logs of any other contract (a copy of the token) count for nothing:
        callers pass the installation's pinned token and contract, never a coordinator's."""
        if not _HASH.fullmatch(tx_hash) or not _HASH.fullmatch(claim_id):
            raise PayoutMismatch(f"{safe_text(tx_hash, 80)!r} is not a transaction hash")
        raw = self._rpc("eth_getTransactionReceipt", [tx_hash], "the payout receipt")
        if raw is None:
            raise PayoutPending("the payout transaction is not in a block yet", hint="FarNode checks again later")
        receipt = self._receipt(raw)
        if receipt["transactionHash"] != tx_hash.lower():
            raise ChainUnreachable("the chain RPC sent the receipt of another transaction")
        if receipt["status"] != 1:
            raise PayoutMismatch(
                f"the payout transaction {tx_hash} failed on chain (it reverted); no tokens moved",
                hint="the coordinator must pay this claim again; contact Far Labs support with the hash",
            )
        logs: list[_Log] = receipt.pop("_logs")
        token_l, to_l = token.lower(), recipient.lower()
        contract_l = (payout_contract or token).lower()
        payouts = [g for g in logs if g.address == contract_l and len(g.topics) == 3 and g.topics[0] == PAYOUT_TOPIC]
        transfers = [g for g in logs if g.address == token_l and len(g.topics) == 3 and g.topics[0] == TRANSFER_TOPIC]
        paid = [(g.topics[1], "0x" + g.topics[2][-40:], _amount(g.data)) for g in payouts]
        if not any(cid == claim_id.lower() for cid, _, _ in paid):
            seen = ", ".join(cid[:12] + "..." for cid, _, _ in paid) or "no payout of this token at all"
            raise PayoutMismatch(
                f"the payout transaction {tx_hash} does not pay this claim ({claim_id[:12]}...); it pays {seen}",
                hint="a transaction confirms only the claim it names; the claim is marked failed, claim again",
            )
        moved = any("0x" + g.topics[2][-40:] == to_l and _amount(g.data) == value for g in transfers)
        if not any(cid == claim_id.lower() and to == to_l and v == value for cid, to, v in paid) or not moved:
            shown = "; ".join(f"{to} <- {v}" for cid, to, v in paid if cid == claim_id.lower())
            raise PayoutMismatch(
                f"the payout transaction {tx_hash} does not transfer {value} of token {token} to {recipient}"
                f" (it shows {shown})",
                hint="the claim is marked failed; contact Far Labs support with the transaction hash",
            )
        return PayoutProof(tx_hash=tx_hash.lower(), block_number=receipt["blockNumber"], token=_checksum(token),
                           recipient=_checksum(recipient), value=value, receipt=receipt)

    @staticmethod
    def _receipt(raw: object) -> dict[str, Any]:
        """The receipt's fields FarNode keeps, each checked; numbers as ints, the logs as parsed."""
        if not isinstance(raw, dict):
            raise ChainUnreachable("the chain RPC sent a malformed receipt")
        raw_logs = raw.get("logs")
        if not isinstance(raw_logs, list) or len(raw_logs) > MAX_LOGS:
            raise ChainUnreachable("the chain RPC sent a receipt without a readable list of logs")
        logs, kept = [], []
        for entry in raw_logs:
            if not isinstance(entry, dict) or not isinstance(entry.get("topics"), list) or len(entry["topics"]) > 4:
                raise ChainUnreachable("the chain RPC sent a malformed log")
            log = _Log(_match(entry.get("address"), _ADDRESS, "log address"),
                       tuple(_match(t, _HASH, "log topic") for t in entry["topics"]),
                       _match(entry.get("data"), _DATA, "log data"))
            logs.append(log)
            kept.append({"address": log.address, "topics": list(log.topics), "data": log.data})
        return {
            "transactionHash": _match(raw.get("transactionHash"), _HASH, "transaction hash"),
            "blockNumber": _quantity(raw.get("blockNumber"), "block number"),
            "blockHash": _match(raw.get("blockHash"), _HASH, "block hash"),
            "status": _quantity(raw.get("status"), "receipt status"),
            "gasUsed": _quantity(raw.get("gasUsed"), "gas used"),
            "logs": kept,
            "_logs": logs,
        }


def _amount(data: str) -> int:
    return int(data[2:66], 16) if len(data) == 66 else -1
