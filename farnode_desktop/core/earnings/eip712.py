"""EIP-712 typed data the wallet signs for the coordinator: binding a node, claiming a payout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

DOMAIN_NAME = "Far Labs Coordinator"
DOMAIN_VERSION = "1"

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
BIND_TYPES = [
    {"name": "wallet", "type": "address"},
    {"name": "peerId", "type": "string"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
CLAIM_TYPES = [
    {"name": "wallet", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "fee", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


@dataclass(frozen=True)
class Domain:
    """Which network and contract a signature is valid for: it cannot be replayed elsewhere."""

    chain_id: int
    verifying_contract: str

    def as_json(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


def bind_node_message(domain: Domain, wallet: str, peer_id: str, nonce: int, deadline: int) -> dict[str, Any]:
    """The typed data that says: pay what node `peer_id` serves to `wallet`."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, "BindNode": BIND_TYPES},
        "primaryType": "BindNode",
        "domain": domain.as_json(),
        "message": {"wallet": wallet, "peerId": peer_id, "nonce": nonce, "deadline": deadline},
    }


def payout_claim_message(
    domain: Domain, wallet: str, *, amount: int, fee: int, nonce: int, deadline: int
) -> dict[str, Any]:
    """The typed data that claims `amount` (wei, of which `fee` is kept) for `wallet`."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, "PayoutClaim": CLAIM_TYPES},
        "primaryType": "PayoutClaim",
        "domain": domain.as_json(),
        "message": {"wallet": wallet, "amount": amount, "fee": fee, "nonce": nonce, "deadline": deadline},
    }


def recover_signer(full_message: dict[str, Any], signature: str) -> str:
    """The address that signed `full_message`; raises ValueError for a malformed signature."""
    signable = encode_typed_data(full_message=full_message)
    try:
        return str(Account.recover_message(signable, signature=signature))
    except Exception as exc:  # eth-keys raises its own BadSignature/ValidationError types, not ValueError
        raise ValueError(f"the signature is malformed: {exc}") from None


def message_digest(full_message: dict[str, Any]) -> str:
    """The EIP-712 hash of the message: one claim, one digest (the coordinator's idempotency key)."""
    from eth_hash.auto import keccak

    signable = encode_typed_data(full_message=full_message)
    raw = b"\x19" + bytes(signable.version) + bytes(signable.header) + bytes(signable.body)
    return "0x" + keccak(raw).hex()
