"""What the wallet agrees to sign: the chain and contract of every EIP-712 message must be the ones this installation
pins (core/earnings/network.py), whoever asks (`WalletPolicy`, inside the wallet); a claim's fee and amount are then
checked against the network's terms, which are verified on the provider's own chain (`verify_terms`)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from farnode_desktop.core.earnings.coordinator_models import MAX_DEADLINE_S, MAX_INT, MAX_WEI, NetworkInfo
from farnode_desktop.core.earnings.eip712 import BIND_TYPES, CLAIM_TYPES, DOMAIN_NAME, DOMAIN_TYPE, DOMAIN_VERSION
from farnode_desktop.core.earnings.network import NotPinned, PinnedNetwork, PinnedNetworks
from farnode_desktop.core.errors import FarNodeError

# keccak256 of FarToken's runtime code (resources/contracts/FarToken.json `deployedBytecode`; a test keeps the
# two equal). The pinned payout contract must carry exactly this code on the provider's own chain.
PAYOUT_CONTRACT_CODE_HASH = "0x1422108c1ca1b9c5b2182cdeef205e921b6665c81c48e45987c7acee62f530d4"
# eth-tester's chain id: the devnet's, and the default chain for a coordinator on this machine
DEVNET_CHAIN_ID = 131277322940537
_PEER_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_TYPES = {"BindNode": BIND_TYPES, "PayoutClaim": CLAIM_TYPES}  # the only messages FarNode signs


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
    """The chain, contract and fee every signature must name: the contract is the installation's pinned one,
    the chain checked on the provider's chain, never taken from a coordinator's reply alone."""

    chain_id: int
    verifying_contract: str
    fee: int
    min_claim: int
    network: NetworkInfo
    pinned: PinnedNetwork | None = None


def verify_terms(network: NetworkInfo, chain: ChainFacts, networks: PinnedNetworks,
                 expected_chain_id: int | None = None) -> SigningTerms:
    """The coordinator's network checked against the installation and the provider's chain: the same chain id (and
    the one the provider expects, when set), a token and verifying contract that are the ones this installation pins
    for that chain (a copy of FAR at another address is refused), carrying FarToken's code."""
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
    pinned = networks.require(actual)
    assert pinned.token is not None and pinned.payout_contract is not None
    if network.token.lower() != pinned.token.lower():
        raise SigningRefused(f"the coordinator pays in token {network.token}, but FAR on chain {actual} is "
                             f"{pinned.token} (pinned by this installation)")
    if network.verifying_contract.lower() != pinned.payout_contract.lower():
        raise SigningRefused(f"the coordinator names contract {network.verifying_contract}, but the payout contract "
                             f"on chain {actual} is {pinned.payout_contract} (pinned by this installation)")
    if chain.code_hash(pinned.payout_contract).lower() != PAYOUT_CONTRACT_CODE_HASH:
        raise SigningRefused(
            f"the pinned payout contract {pinned.payout_contract} has no Far Labs payout code on your chain RPC's"
            f" chain {actual}: the chain RPC is not the payout network's"
        )
    return SigningTerms(actual, pinned.payout_contract, network.fee, network.min_claim, network, pinned)


def _uint(message: dict[str, Any], name: str, maximum: int) -> int:
    value = message.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise SigningRefused(f"the message's {name} is not a whole number from 0 to {maximum}")
    return value


def check_pinned(typed: object, networks: PinnedNetworks, wallet: str, now: float) -> PinnedNetwork:
    """Raise SigningRefused unless `typed` is exactly a BindNode or PayoutClaim (FarNode's own types, no field more or
    less) for `wallet`, whose domain names a chain this installation pins and that chain's pinned payout contract,
    valid for at most a day. Returns the pinned network it names."""
    if not isinstance(typed, dict):
        raise SigningRefused("the message is not EIP-712 typed data")
    domain, message, kind = typed.get("domain"), typed.get("message"), typed.get("primaryType")
    if not isinstance(domain, dict) or not isinstance(message, dict):
        raise SigningRefused("the message has no domain or body")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise SigningRefused(f"FarNode signs only BindNode and PayoutClaim messages, not {str(kind)[:40]!r}")
    if typed.get("types") != {"EIP712Domain": DOMAIN_TYPE, kind: _TYPES[kind]} or set(typed) != {
            "types", "primaryType", "domain", "message"}:
        raise SigningRefused(f"the message's types are not FarNode's own {kind}")
    if set(domain) != {"name", "version", "chainId", "verifyingContract"} or set(message) != {
            f["name"] for f in _TYPES[kind]}:
        raise SigningRefused(f"the message's fields are not those of a {kind}")
    if domain.get("name") != DOMAIN_NAME or domain.get("version") != DOMAIN_VERSION:
        raise SigningRefused(f"the domain is not {DOMAIN_NAME!r} version {DOMAIN_VERSION}")
    chain_id = domain.get("chainId")
    if type(chain_id) is not int:
        raise SigningRefused(f"the message's chain {str(chain_id)[:40]!r} is not a chain id")
    try:
        pinned = networks.require(chain_id)
    except NotPinned as exc:
        raise SigningRefused(f"the message is for chain {chain_id}, where {exc}") from None
    contract = domain.get("verifyingContract")
    if not isinstance(contract, str) or contract.lower() != str(pinned.payout_contract).lower():
        raise SigningRefused(f"the message names contract {str(contract)[:42]}, not the payout contract "
                             f"{pinned.payout_contract} this installation pins for chain {chain_id}")
    if not isinstance(message.get("wallet"), str) or str(message["wallet"]).lower() != wallet.lower():
        raise SigningRefused("the message is for another wallet")
    _uint(message, "nonce", MAX_INT)
    deadline = _uint(message, "deadline", MAX_INT)
    if not now < deadline <= now + MAX_DEADLINE_S:
        raise SigningRefused(f"the deadline must lie within the next {MAX_DEADLINE_S // 3600} hours")
    if kind == "BindNode":
        if not isinstance(message.get("peerId"), str) or not _PEER_ID.fullmatch(message["peerId"]):
            raise SigningRefused("the node's peer id is not a peer id")
        return pinned
    amount, fee = _uint(message, "amount", MAX_WEI), _uint(message, "fee", MAX_WEI)
    if amount <= fee:
        raise SigningRefused("the claim's amount does not cover the fee")
    return pinned


class WalletPolicy:
    """What the wallet signs at all, whoever asks: `check_pinned` against the installation's networks, read afresh
    for each signature (a demo pins its devnet after the wallet was opened)."""

    def __init__(self, networks: Callable[[], PinnedNetworks], now: Callable[[], float] = time.time) -> None:
        self._networks = networks
        self._now = now

    def check(self, typed: object, wallet: str) -> PinnedNetwork:
        return check_pinned(typed, self._networks(), wallet, self._now())


def check_typed_data(typed: dict[str, Any], terms: SigningTerms, wallet: str, now: float,
                     claimable: int | None = None) -> None:
    """Raise SigningRefused unless `typed` is a BindNode or PayoutClaim for `wallet` on the terms' chain and (pinned)
    contract, valid for at most a day, and (for a claim) with the network's fee and an amount the app believes is
    claimable. The wallet checks the pinned chain and contract again itself."""
    pinned = terms.pinned or PinnedNetwork(terms.chain_id, "", "", "", terms.verifying_contract,
                                           terms.verifying_contract)
    check_pinned(typed, PinnedNetworks((pinned,)), wallet, now)
    if typed.get("primaryType") != "PayoutClaim":
        return
    message: dict[str, Any] = typed["message"]
    amount, fee = message["amount"], message["fee"]
    if fee != terms.fee:
        raise SigningRefused(f"the claim's fee ({fee} wei) is not the network's fee ({terms.fee} wei)")
    if amount < terms.min_claim:
        raise SigningRefused("the claim's amount is below the minimum claim or does not cover the fee")
    if claimable is not None and amount > claimable:
        raise SigningRefused(f"the claim's amount ({amount} wei) is more than is claimable ({claimable} wei)")
