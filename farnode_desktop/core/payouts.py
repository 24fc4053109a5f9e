"""On-chain proof of a payout: the receipt succeeded and an ERC-20 Transfer of the claimed amount reached
the wallet, checked with web3 against the provider's own RPC."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from farnode_desktop.core.coordinator import check_url
from farnode_desktop.core.errors import FarNodeError

# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
ERC20_BALANCE_ABI = [
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]


class ChainUnreachable(FarNodeError):
    """The chain RPC could not be reached."""


class PayoutPending(FarNodeError):
    """The payout transaction is not in a block yet."""


class PayoutMismatch(FarNodeError):
    """The transaction exists but does not pay what was claimed to the wallet."""


@dataclass(frozen=True)
class PayoutProof:
    """What the chain shows for one payout: the block it is in and the Transfer that reached the wallet."""

    tx_hash: str
    block_number: int
    token: str
    recipient: str
    value: int
    receipt: dict[str, Any]


def _topic_address(topic: Any) -> str:
    raw = bytes(topic) if not isinstance(topic, str) else bytes.fromhex(topic.removeprefix("0x"))
    return "0x" + raw[-20:].hex()


class ChainReader:
    """Reads the chain through web3 (HTTP JSON-RPC to `rpc_url`, or an injected Web3 object)."""

    def __init__(self, rpc_url: str | None = None, web3: Any = None, timeout_s: float = 15.0) -> None:
        if web3 is None:
            from web3 import HTTPProvider, Web3

            if not rpc_url:
                raise FarNodeError(
                    "no chain RPC address is set, so payouts cannot be checked on chain",
                    hint="set chain_rpc_url in the settings (the devnet prints one)",
                )
            url = check_url(rpc_url, "chain RPC")
            web3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout_s}))
        self._w3 = web3

    def _read(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except FarNodeError:
            raise
        except Exception as exc:
            name = type(exc).__name__
            if name in ("TransactionNotFound",):
                raise PayoutPending(
                    "the payout transaction is not in a block yet", hint="FarNode checks again later"
                ) from None
            if isinstance(exc, OSError) or "connection" in name.lower() or "timeout" in name.lower():
                raise ChainUnreachable(
                    f"the chain RPC could not be reached while reading {what} ({name})",
                    hint="check chain_rpc_url and your connection; the claim is kept and checked again",
                ) from None
            raise ChainUnreachable(f"the chain RPC failed while reading {what}: {name}: {exc}") from None

    def chain_id(self) -> int:
        return int(self._read("the chain id", lambda: self._w3.eth.chain_id))

    def token_balance(self, token: str, owner: str) -> int:
        from web3 import Web3

        contract = self._w3.eth.contract(address=Web3.to_checksum_address(token), abi=ERC20_BALANCE_ABI)
        return int(self._read("a token balance", contract.functions.balanceOf(owner).call))

    def confirm_transfer(self, tx_hash: str, token: str, recipient: str, value: int) -> PayoutProof:
        """Check `tx_hash` succeeded and moved exactly `value` of `token` to `recipient`."""
        from web3 import Web3

        receipt = self._read("the payout receipt", self._w3.eth.get_transaction_receipt, tx_hash)
        if receipt is None:
            raise PayoutPending("the payout transaction is not in a block yet")
        if int(receipt["status"]) != 1:
            raise PayoutMismatch(
                f"the payout transaction {tx_hash} failed on chain (it reverted); no tokens moved",
                hint="the coordinator must pay this claim again; contact Far Labs support with the hash",
            )
        transfers = []
        for log in receipt["logs"]:
            topics = log["topics"]
            first = topics[0] if topics else b""
            first_hex = first if isinstance(first, str) else "0x" + bytes(first).hex()
            if len(topics) != 3 or first_hex.lower() != TRANSFER_TOPIC:
                continue
            data = log["data"]
            raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
            amount = int.from_bytes(raw, "big")
            transfers.append((str(log["address"]).lower(), _topic_address(topics[2]), amount))
        for address, to, amount in transfers:
            if address == token.lower() and to == recipient.lower() and amount == value:
                receipt_json = json.loads(Web3.to_json(receipt))
                return PayoutProof(
                    tx_hash=tx_hash,
                    block_number=int(receipt["blockNumber"]),
                    token=Web3.to_checksum_address(token),
                    recipient=Web3.to_checksum_address(recipient),
                    value=value,
                    receipt=receipt_json,
                )
        seen = "; ".join(f"{a} -> {t}: {v}" for a, t, v in transfers) or "no ERC-20 Transfer at all"
        raise PayoutMismatch(
            f"the payout transaction {tx_hash} does not transfer {value} of token {token} to {recipient}"
            f" (it shows {seen})",
            hint="the claim is marked failed; contact Far Labs support with the transaction hash",
        )
