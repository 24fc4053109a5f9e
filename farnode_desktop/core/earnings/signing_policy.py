"""What the wallet agrees to sign: the chain, contract, deadline, fee and amount of every EIP-712 message are
checked against values the app itself holds (its own chain RPC, the payout contract's code) before signing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from farnode_desktop.core.earnings.coordinator_models import MAX_DEADLINE_S, MAX_INT, MAX_WEI, NetworkInfo
from farnode_desktop.core.earnings.eip712 import DOMAIN_NAME, DOMAIN_VERSION
from farnode_desktop.core.errors import FarNodeError

# keccak256 of FarToken's runtime code (resources/contracts/FarToken.json `deployedBytecode`; a test keeps the
# two equal). The verifying contract must carry exactly this code on the provider's own chain.
PAYOUT_CONTRACT_CODE_HASH = "0x1422108c1ca1b9c5b2182cdeef205e921b6665c81c48e45987c7acee62f530d4"
# eth-tester's chain id: the devnet's, and the default chain for a coordinator on this machine
DEVNET_CHAIN_ID = 131277322940537
_PEER_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class SigningRefused(FarNodeError):
    """FarNode would not sign a message: something in it is not what the app expects."""

    def __init__(self, why: str) -> None:
        super().__init__(f"refusing to sign: {why}; nothing was signed",
                         hint="the coordinator may be misconfigured or hostile; check Settings (coordinator,"
                              " chain RPC and chain id) or report it to Far Labs")


class ChainFacts(Protocol):
    """What the policy reads from the provider's own chain RPC."""

    def chain_id(self) -> int: ...

    def code_hash(self, address: str) -> str: ...


@dataclass(frozen=True)
class SigningTerms:
    """The chain, contract and fee every signature must name: checked on the provider's chain, never taken
    from a coordinator's reply alone."""

    chain_id: int
    verifying_contract: str
    fee: int
    min_claim: int
    network: NetworkInfo


def verify_terms(network: NetworkInfo, chain: ChainFacts, expected_chain_id: int | None = None) -> SigningTerms:
    """The coordinator's network checked against the provider's chain: the same chain id (and the one the
    provider expects, when set), and a verifying contract that is the payout token with FarToken's code."""
    actual = chain.chain_id()
    if expected_chain_id is not None and actual != expected_chain_id:
        raise FarNodeError(
            f"your chain RPC is chain {actual}, but the network is chain {expected_chain_id}; nothing was signed",
            hint="set the chain RPC (and chain id) in Settings to the payout network's",
        )
    if network.chain_id != actual:
        raise FarNodeError(
            f"the coordinator pays on chain {network.chain_id} but your chain RPC is chain {actual}",
            hint="point the chain RPC in Settings at the coordinator's network; nothing was signed",
        )
    if network.verifying_contract.lower() != network.token.lower():
        raise SigningRefused("the coordinator names a verifying contract that is not its payout token")
    if chain.code_hash(network.verifying_contract).lower() != PAYOUT_CONTRACT_CODE_HASH:
        raise SigningRefused(
            f"the contract {network.verifying_contract} on chain {actual} is not the Far Labs payout token"
        )
    return SigningTerms(actual, network.verifying_contract, network.fee, network.min_claim, network)


def _uint(message: dict[str, Any], name: str, maximum: int) -> int:
    value = message.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise SigningRefused(f"the message's {name} is not a whole number from 0 to {maximum}")
    return value


def check_typed_data(typed: dict[str, Any], terms: SigningTerms, wallet: str, now: float,
                     claimable: int | None = None) -> None:
    """Raise SigningRefused unless `typed` is a BindNode or PayoutClaim for `wallet` on the terms' chain and
    contract, valid for at most a day, and (for a claim) with the network's fee and an amount the app
    believes is claimable."""
    domain, message = typed.get("domain"), typed.get("message")
    if not isinstance(domain, dict) or not isinstance(message, dict):
        raise SigningRefused("the message has no domain or body")
    if domain.get("name") != DOMAIN_NAME or domain.get("version") != DOMAIN_VERSION:
        raise SigningRefused(f"the domain is not {DOMAIN_NAME!r} version {DOMAIN_VERSION}")
    if domain.get("chainId") != terms.chain_id:
        raise SigningRefused(f"the message is for chain {domain.get('chainId')!r}, not chain {terms.chain_id}")
    contract = domain.get("verifyingContract")
    if not isinstance(contract, str) or contract.lower() != terms.verifying_contract.lower():
        raise SigningRefused(f"the message is for another contract than the payout token {terms.verifying_contract}")
    if not isinstance(message.get("wallet"), str) or str(message["wallet"]).lower() != wallet.lower():
        raise SigningRefused("the message is for another wallet")
    _uint(message, "nonce", MAX_INT)
    deadline = _uint(message, "deadline", MAX_INT)
    if not now < deadline <= now + MAX_DEADLINE_S:
        raise SigningRefused(f"the deadline must lie within the next {MAX_DEADLINE_S // 3600} hours")
    kind = typed.get("primaryType")
    if kind == "BindNode":
        if not isinstance(message.get("peerId"), str) or not _PEER_ID.fullmatch(message["peerId"]):
            raise SigningRefused("the node's peer id is not a peer id")
        return
    if kind != "PayoutClaim":
        raise SigningRefused(f"FarNode signs only BindNode and PayoutClaim messages, not {str(kind)[:40]!r}")
    amount, fee = _uint(message, "amount", MAX_WEI), _uint(message, "fee", MAX_WEI)
    if fee != terms.fee:
        raise SigningRefused(f"the claim's fee ({fee} wei) is not the network's fee ({terms.fee} wei)")
    if amount <= fee or amount < terms.min_claim:
        raise SigningRefused("the claim's amount is below the minimum claim or does not cover the fee")
    if claimable is not None and amount > claimable:
        raise SigningRefused(f"the claim's amount ({amount} wei) is more than is claimable ({claimable} wei)")
