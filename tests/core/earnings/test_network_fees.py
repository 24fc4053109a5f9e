"""The manifest's per-chain `fees` (what the network keeps of a payout, in basis points) and `min_app_version`: strict
parsing, old manifests without them still read (no fee stated, any version may claim), and the words shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop import __version__
from farnode_desktop.core.earnings.network import (
    FORMAT,
    MAX_FEE_BPS,
    ManifestError,
    PinnedNetwork,
    PinnedNetworks,
    installation_networks,
    manifest_json,
    parse_manifest,
    pin_local_devnet,
    read_manifest,
    shipped_manifest_path,
)
from farnode_desktop.core.earnings.signing_policy import DEVNET_CHAIN_ID
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.ui.viewmodels.network_vm import pinned_view

TOKEN = "0x" + "ab" * 20


def _entry(**change: Any) -> dict[str, Any]:
    return {"chain_id": 7, "name": "Far", "rpc_url": "https://rpc.example", "coordinator_url": "https://c.example",
            "token": TOKEN, "payout_contract": TOKEN, "local": False, **change}


def _manifest(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "version": 1, "networks": list(entries or [_entry()])}


def test_an_old_manifest_without_the_fields_reads_with_stated_defaults() -> None:
    [net] = parse_manifest(_manifest(), "old")
    assert (net.fee_bps, net.min_app_version, net.fee_text) == (None, None, "")  # no fee stated; any version
    assert net.too_old("0.0.1") is None
    assert set(manifest_json([net])["networks"][0]) == {"chain_id", "name", "rpc_url", "coordinator_url", "token",
                                                        "payout_contract", "local"}  # written as before


def test_the_fields_read_and_round_trip() -> None:
    [net] = parse_manifest(_manifest(_entry(fees={"payout_bps": 250}, min_app_version="0.2.0")), "new")
    assert (net.fee_bps, net.min_app_version, net.fee_text) == (250, "0.2.0", "2.5 % of each payout")
    assert parse_manifest(manifest_json([net]), "again") == (net,)
    [shipped] = read_manifest(shipped_manifest_path())
    assert (shipped.fee_bps, shipped.min_app_version) == (100, "0.1.0")  # the devnet's 1e13 fee on a 1e15 minimum


@pytest.mark.parametrize(("change", "words"), [
    ({"fees": 250}, 'fees is 250, not {"payout_bps": a whole number}'),
    ({"fees": {}}, "not {\"payout_bps\""),
    ({"fees": {"payout_bps": 250, "claim_wei": 1}}, "not {\"payout_bps\""),
    ({"fees": {"payout_bps": -1}}, "fees.payout_bps is -1, not a whole number of basis points from 0 to 2000 (20 %)"),
    ({"fees": {"payout_bps": MAX_FEE_BPS + 1}}, "fees.payout_bps is 2001"),
    ({"fees": {"payout_bps": 2.5}}, "fees.payout_bps is 2.5"),
    ({"fees": {"payout_bps": True}}, "fees.payout_bps is True"),
    ({"fees": {"payout_bps": "250"}}, "fees.payout_bps is '250'"),
    ({"min_app_version": "v0.2"}, "min_app_version is 'v0.2', not a version like 0.2.0"),
    ({"min_app_version": ""}, "min_app_version is ''"),
    ({"min_app_version": 2}, "min_app_version is 2"),
    ({"min_app_version": "1.2.3.4.5"}, "min_app_version is '1.2.3.4.5'"),
    ({"min_app_version": "0.2.0-beta"}, "min_app_version is '0.2.0-beta'"),
    ({"fee_bps": 250}, "fields this version does not know: 'fee_bps'"),
])  # fmt: skip
def test_a_bad_fee_or_version_refuses_the_whole_manifest(change: dict[str, Any], words: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(_manifest(_entry(**change)), "m")
    assert words in str(caught.value)
    assert str(caught.value).startswith("m, network 1")


def test_a_refused_verified_manifest_changes_nothing(farnode_home: Path) -> None:
    """A signed manifest with a fee over the bound pins nothing new: the shipped one stays, and the reason is said."""
    paths = AppPaths.default()
    verified = paths.data / "updates" / "verified" / "network-manifest.json"
    verified.parent.mkdir(parents=True)
    verified.write_text(json.dumps(_manifest(_entry(fees={"payout_bps": 5000}))), encoding="utf-8")
    networks = installation_networks(paths)
    assert [n.chain_id for n in networks.networks] == [DEVNET_CHAIN_ID]
    assert "fees.payout_bps is 5000" in networks.problems[0] and "using the manifest FarNode shipped with" in \
        networks.problems[0]


@pytest.mark.parametrize(("running", "wanted", "old"), [
    ("0.1.0", "0.2.0", True), ("0.2.0", "0.2.0", False), ("0.10.0", "0.9.9", False), ("1.2", "1.2.0", False),
    ("0.1.9", "0.1.10", True), ("0.2.0rc1", "0.2.0", False), ("0.2.0+local", "0.2.1", True),
])  # fmt: skip
def test_versions_compare_as_numbers(running: str, wanted: str, old: bool) -> None:
    [net] = parse_manifest(_manifest(_entry(min_app_version=wanted)), "m")
    assert (net.too_old(running) is not None) is old


def test_the_too_old_words_and_which_chains_say_them() -> None:
    new = parse_manifest(_manifest(_entry(min_app_version="9.0"), _entry(chain_id=8, name="Other")), "m")
    networks = PinnedNetworks(new)
    assert networks.too_old("0.1.0") == ["this FarNode is version 0.1.0, older than version 9.0 that Far (chain 7) "
                                         "asks for: update FarNode to keep claiming"]
    assert networks.too_old("0.1.0", chain_id=8) == []


def test_a_local_devnet_manifest_cannot_change_the_fee_or_the_version(farnode_home: Path) -> None:
    paths = AppPaths.default().ensure()
    pin_local_devnet(paths, PinnedNetwork(DEVNET_CHAIN_ID, "devnet", "http://127.0.0.1:9", "http://127.0.0.1:9",
                                          TOKEN, TOKEN, True, fee_bps=0, min_app_version="0.0.1"))
    [devnet] = installation_networks(paths).networks
    assert devnet.pinned and (devnet.fee_bps, devnet.min_app_version) == (100, "0.1.0")  # the shipped word


def test_settings_and_wallet_show_the_fee_and_the_warning() -> None:
    """The one line both windows show under "Pays in" / the wallet's network label (network_vm.pinned_view)."""
    [net] = parse_manifest(_manifest(_entry(fees={"payout_bps": 150}, min_app_version="99.0")), "m")
    view = pinned_view(PinnedNetworks((net,)), 7, app_version=__version__)
    assert view.fee == "1.5 % of each payout"
    assert "The network keeps 1.5 % of each payout." in view.summary
    assert view.warning.endswith("update FarNode to keep claiming")
    assert view.warning_line.startswith(f"Warning: this FarNode is version {__version__}, older than version 99.0")
    assert "Warning" not in view.summary  # a line of its own, in the warning colour
    [plain] = parse_manifest(_manifest(), "old")
    old = pinned_view(PinnedNetworks((plain,)), 7)
    assert (old.fee, old.warning) == ("", "") and "keeps" not in old.summary and "Warning" not in old.summary
