"""The pinned payout network in words: the token and contract the installation pins for the chain, or plainly that
none is pinned (and why), never a coordinator's word."""

from __future__ import annotations

from farnode_desktop.core.earnings.network import PinnedNetwork, PinnedNetworks
from farnode_desktop.ui.viewmodels.network_vm import pinned_view

TOKEN = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
NET = PinnedNetwork(7, "Far mainnet", "https://rpc.example", "https://c.example", TOKEN, TOKEN)


def test_a_pinned_token_that_is_also_the_payout_contract() -> None:
    view = pinned_view(PinnedNetworks((NET,)), None)
    assert view.pinned and view.token == TOKEN and view.chain == "Far mainnet (chain 7)"
    assert view.summary == (f"Paid in FAR {TOKEN} on Far mainnet (chain 7); payouts come from the FAR token itself."
                            " Pinned by this installation: a coordinator cannot change them.")


def test_a_separate_payout_contract_is_named() -> None:
    net = PinnedNetwork(7, "Far", "https://r.example", "https://c.example", TOKEN, OTHER)
    assert f"payouts come from {OTHER}" in pinned_view(PinnedNetworks((net,)), 7).summary


def test_no_pinned_token_is_said_plainly_with_the_reason() -> None:
    unpinned = PinnedNetwork(9, "devnet", "http://127.0.0.1:1", "http://127.0.0.1:2", None, None, True)
    view = pinned_view(PinnedNetworks((unpinned,), ("the local manifest cannot be read",)), 9)
    assert not view.pinned and view.token == "none pinned"
    assert view.summary == ("This installation pins no FAR token for chain 9 (the local manifest cannot be read):"
                            " FarNode signs no claim and confirms no payout there.")
    assert "any chain" in pinned_view(PinnedNetworks(()), None).summary
    assert not pinned_view(PinnedNetworks((NET,)), 5).pinned  # a chain the installation does not know
