"""Which chain payouts are checked on: the provider's chain RPC and chain id from Settings; the coordinator's RPC hint
only for a devnet on this machine (coordinator and RPC both on loopback), never for a remote coordinator."""

from __future__ import annotations

from typing import Any

import pytest

from farnode_desktop.core.earnings.claim_factory import ClaimFactory, choose_chain
from farnode_desktop.core.earnings.coordinator import CoordinatorClient
from farnode_desktop.core.earnings.coordinator_models import NetworkInfo
from farnode_desktop.core.earnings.signing_policy import DEVNET_CHAIN_ID
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.settings import Settings


def _network(rpc_url: str) -> NetworkInfo:
    return NetworkInfo(1, "0x" + "11" * 20, "0x" + "11" * 20, 1, 1, 1, 0, 3600, rpc_url)


def test_the_providers_own_rpc_and_chain_id_win_over_any_hint() -> None:
    settings = Settings(chain_rpc_url="https://rpc.example", chain_id=8453)
    choice = choose_chain(settings, "http://127.0.0.1:8787", _network("http://127.0.0.1:8545"))
    assert (choice.rpc_url, choice.chain_id, choice.from_settings) == ("https://rpc.example", 8453, True)
    assert choose_chain(Settings(chain_rpc_url="https://rpc.example"), "https://c.example", None).chain_id is None


@pytest.mark.parametrize("coordinator", ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"])
def test_a_devnet_on_this_machine_uses_its_rpc_hint_on_the_devnets_chain(coordinator: str) -> None:
    choice = choose_chain(Settings(), coordinator, _network("http://127.0.0.1:8545"))
    assert (choice.rpc_url, choice.chain_id, choice.from_settings) == ("http://127.0.0.1:8545", DEVNET_CHAIN_ID, False)
    assert choose_chain(Settings(chain_id=99), coordinator, _network("http://127.0.0.1:8545")).chain_id == 99


@pytest.mark.parametrize(
    ("coordinator", "hint"),
    [
        ("http://127.0.0.1:8787", "https://rpc.example"),  # a loopback coordinator pointing at a remote RPC
        ("https://coordinator.example", "http://127.0.0.1:8545"),  # a remote coordinator pointing at loopback
        ("http://127.0.0.1:8787", ""),
    ],
)
def test_without_a_chain_rpc_in_settings_anything_but_a_local_devnet_is_refused(coordinator: str, hint: str) -> None:
    with pytest.raises(FarNodeError, match="no chain RPC is set") as err:
        choose_chain(Settings(), coordinator, _network(hint))
    assert "Settings" in err.value.hint
    with pytest.raises(FarNodeError, match="no chain RPC is set"):
        choose_chain(Settings(), coordinator, None)


def test_a_remote_coordinator_without_a_chain_rpc_in_settings_gets_no_signature() -> None:
    with pytest.raises(FarNodeError, match="no chain RPC is set"):
        ClaimFactory(Settings(coordinator_url="https://coordinator.example")).chain(
            CoordinatorClient("https://coordinator.example"), network=_network_stub())


def _network_stub() -> Any:
    from farnode_desktop.core.earnings.coordinator_models import NetworkInfo

    return NetworkInfo(1, "0x" + "11" * 20, "0x" + "11" * 20, 1, 1, 1, 0, 3600, "http://127.0.0.1:1")
