"""The network manifest: the shipped one reads, each damaged field is refused by name, a local manifest pins only a
devnet on this PC, and the wallet's policy signs only for a pinned chain's pinned contract."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.earnings.eip712 import Domain, bind_node_message, payout_claim_message
from farnode_desktop.core.earnings.network import (
    FORMAT,
    ManifestError,
    NotPinned,
    PinnedNetwork,
    PinnedNetworks,
    installation_networks,
    local_manifest_path,
    manifest_json,
    parse_manifest,
    pin_local_devnet,
    read_manifest,
    shipped_manifest_path,
)
from farnode_desktop.core.earnings.signing_policy import DEVNET_CHAIN_ID, SigningRefused, WalletPolicy
from farnode_desktop.core.paths import AppPaths

TOKEN = "0x" + "ab" * 20
WALLET = "0x88782009F6435E58A3050D42DdE091252d26bbD1"
DEVNET = PinnedNetwork(DEVNET_CHAIN_ID, "devnet", "http://127.0.0.1:8545", "http://127.0.0.1:8787", TOKEN, TOKEN, True)


def _entry(**change: Any) -> dict[str, Any]:
    return {"chain_id": 7, "name": "Far", "rpc_url": "https://rpc.example", "coordinator_url": "https://c.example",
            "token": TOKEN, "payout_contract": TOKEN, "local": False, **change}


def _manifest(*entries: dict[str, Any], **change: Any) -> dict[str, Any]:
    return {"format": FORMAT, "version": 1, "networks": list(entries or [_entry()]), **change}


def test_the_shipped_manifest_reads_and_pins_no_token_for_the_fresh_devnet() -> None:
    [devnet] = read_manifest(shipped_manifest_path())
    assert devnet.chain_id == DEVNET_CHAIN_ID and devnet.local and not devnet.pinned
    with pytest.raises(NotPinned, match=f"pins no FAR token for chain {DEVNET_CHAIN_ID}"):
        PinnedNetworks((devnet,)).require(DEVNET_CHAIN_ID)


def test_a_manifest_round_trips_and_checksums_addresses() -> None:
    [net] = parse_manifest(_manifest(), "m")
    assert net.token is not None and net.token.lower() == TOKEN and net.token != TOKEN and net.pinned
    assert parse_manifest(manifest_json([net]), "again") == (net,)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ([], "not a JSON object"),
        (_manifest(format="other"), "not a FarNode network manifest"),
        (_manifest(version=2), "has version 2; this FarNode reads version 1"),
        (_manifest(version=True), "version True"),
        ({"format": FORMAT, "version": 1, "networks": []}, "lists no networks"),
        (_manifest(_entry(), _entry()), "names a chain twice"),
        (_manifest(_entry(chain_id="7")), "chain_id is '7'"),
        (_manifest(_entry(chain_id=0)), "chain_id is 0"),
        (_manifest(_entry(chain_id=2**53)), "not a chain id"),
        (_manifest(_entry(token="0x12")), "token is '0x12'"),
        (_manifest(_entry(token="0x" + "00" * 20)), "not a contract address"),
        (_manifest(_entry(payout_contract=None)), "pins only one of token and payout_contract"),
        (_manifest(_entry(rpc_url="http://rpc.example")), "plain http to another machine"),
        (_manifest(_entry(rpc_url="ftp://x")), "not an http"),
        (_manifest(_entry(coordinator_url="http://[::1")), "not an http"),
        (_manifest(_entry(name="\x1b[31mred")), "not a short name"),
        (_manifest(_entry(local="yes")), "not true or false"),
        (_manifest(_entry(extra=1)), "fields this version does not know: 'extra'"),
        (_manifest("x"), "network 1 is not a JSON object"),
    ],
)
def test_each_damaged_field_is_refused_by_name(raw: Any, why: str) -> None:
    with pytest.raises(ManifestError, match=why):
        parse_manifest(raw, "manifest.json")


@pytest.mark.parametrize("content", [b"", b"\xff\xfe", b"[" * 100_000, b'{"format": 1', b"{}" * 300_000])
def test_an_unreadable_manifest_pins_nothing_and_says_why(tmp_path: Path, content: bytes) -> None:
    shipped = tmp_path / "manifest.json"
    shipped.write_bytes(content)
    networks = installation_networks(AppPaths.under(tmp_path), shipped=shipped)
    assert networks.networks == () and "cannot be read" in networks.problems[0]
    with pytest.raises(NotPinned, match="cannot be read"):
        networks.require(DEVNET_CHAIN_ID)


def _shipped(tmp_path: Path) -> Path:
    path = tmp_path / "shipped.json"
    path.write_text(json.dumps(_manifest(_entry(), {**DEVNET.as_json(), "token": None, "payout_contract": None})))
    return path


def test_the_local_manifest_pins_only_a_devnet_on_this_pc(tmp_path: Path) -> None:
    paths, shipped = AppPaths.under(tmp_path), _shipped(tmp_path)
    assert not installation_networks(paths, shipped).require(7).local  # production: pinned by the shipped file
    pin_local_devnet(paths, DEVNET)
    networks = installation_networks(paths, shipped)
    assert str(networks.require(DEVNET_CHAIN_ID).token).lower() == TOKEN
    assert networks.problems == ()
    other = "0x" + "cd" * 20
    for entry, why in [
        ({**_entry(), "token": other, "payout_contract": other}, "not a devnet on this PC"),  # re-pin production
        ({**_entry(chain_id=99)}, "not a devnet on this PC"),  # a chain the installation does not know
        ({**DEVNET.as_json(), "rpc_url": "https://rpc.example"}, "off this PC"),
    ]:
        local_manifest_path(paths).write_text(json.dumps(_manifest(entry)))
        networks = installation_networks(paths, shipped)
        assert why in networks.problems[0], networks.problems
        assert str(networks.require(7).token).lower() == TOKEN and not networks.get(99)
        with pytest.raises(NotPinned):
            networks.require(DEVNET_CHAIN_ID)
    local_manifest_path(paths).write_text("{ damaged")
    networks = installation_networks(paths, shipped)
    assert "cannot be read" in networks.problems[0] and networks.require(7).pinned
    with pytest.raises(NotPinned):
        networks.require(DEVNET_CHAIN_ID)


def _policy(networks: PinnedNetworks, now: float = 1_800_000_000.0) -> WalletPolicy:
    return WalletPolicy(lambda: networks, now=lambda: now)


def test_the_wallet_policy_passes_only_pinned_chain_contract_and_farnode_types() -> None:
    now = 1_800_000_000
    policy = _policy(PinnedNetworks((DEVNET,)), now)

    def claim(chain: int = DEVNET_CHAIN_ID, contract: str = TOKEN) -> dict[str, Any]:
        return payout_claim_message(Domain(chain, contract), WALLET, amount=100, fee=1, nonce=0, deadline=now + 60)

    assert policy.check(claim(), WALLET) == DEVNET
    assert policy.check(bind_node_message(Domain(DEVNET_CHAIN_ID, TOKEN), WALLET, "12D3KooWPeer", 0, now + 60),
                        WALLET) == DEVNET
    permit = claim()
    permit["types"] = {**permit["types"], "Permit": permit["types"].pop("PayoutClaim")}
    permit["primaryType"] = "Permit"
    extra_field = claim()
    extra_field["types"]["PayoutClaim"] = [*extra_field["types"]["PayoutClaim"], {"name": "to", "type": "address"}]
    extra_field["message"]["to"] = TOKEN
    salted = claim()
    salted["domain"]["salt"] = "0x" + "00" * 32
    for typed, why in [
        (claim(chain=1), "for chain 1, where this installation pins no FAR token"),
        (claim(contract="0x" + "cd" * 20), "not the payout contract"),
        (permit, "signs only BindNode and PayoutClaim messages, not 'Permit'"),
        (extra_field, "types are not FarNode's own PayoutClaim"),
        (salted, "fields are not those of a PayoutClaim"),
        ({**claim(), "primaryType": "EIP712Domain"}, "signs only BindNode"),
        ("not typed data", "not EIP-712 typed data"),
    ]:
        with pytest.raises(SigningRefused, match=why):
            policy.check(typed, WALLET)
    with pytest.raises(SigningRefused, match="pins no FAR token"):
        _policy(PinnedNetworks(()), now).check(claim(), WALLET)


def test_the_wallet_reads_the_installation_afresh_for_each_signature(farnode_home: Path) -> None:
    """The default policy: a demo that pins its devnet after the wallet was opened is honoured at once."""
    policy = WalletPolicy(installation_networks)
    typed = payout_claim_message(Domain(DEVNET_CHAIN_ID, TOKEN), WALLET, amount=100, fee=1, nonce=0,
                                 deadline=int(time.time()) + 60)
    with pytest.raises(SigningRefused, match="pins no FAR token"):
        policy.check(typed, WALLET)
    pin_local_devnet(AppPaths.default(), DEVNET)
    assert str(policy.check(typed, WALLET).token).lower() == TOKEN
