"""One place that builds what claims and node bindings need, for the CLI and the desktop app alike: the token and
payout contract come from the installation's network manifest (core/earnings/network.py); the chain RPC and chain id
from the provider's settings, else the manifest's RPC for a pinned chain; the coordinator's own RPC is used only for a
devnet that runs on this machine (coordinator and RPC both on loopback), and then on the devnet's chain id."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from farnode_desktop.core.clock import Clock
from farnode_desktop.core.earnings.claims import ClaimService
from farnode_desktop.core.earnings.coordinator import CoordinatorClient, HttpTransport, Signer, is_loopback
from farnode_desktop.core.earnings.coordinator_models import NetworkInfo
from farnode_desktop.core.earnings.ledger import Ledger
from farnode_desktop.core.earnings.network import PinnedNetworks, coordinator_url, installation_networks
from farnode_desktop.core.earnings.payouts import ChainReader
from farnode_desktop.core.earnings.signing_policy import DEVNET_CHAIN_ID, SigningTerms, verify_terms
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import EventBus
from farnode_desktop.core.settings import Settings


@dataclass(frozen=True)
class ChainChoice:
    """The RPC payouts are checked through and the chain id signatures must name (None: the RPC's own)."""

    rpc_url: str
    chain_id: int | None
    from_settings: bool


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or ""


def choose_chain(settings: Settings, coordinator_url: str, network: NetworkInfo | None,
                 networks: PinnedNetworks | None = None) -> ChainChoice:
    """The provider's chain RPC and chain id; without one set, the RPC the installation's manifest names for a pinned
    chain; else the devnet's, and only when both the coordinator and the RPC it names are on this machine."""
    if settings.chain_rpc_url:
        return ChainChoice(settings.chain_rpc_url, settings.chain_id, True)
    pinned = networks.preferred(settings.chain_id) if networks is not None else None
    if pinned is not None and pinned.pinned:
        return ChainChoice(pinned.rpc_url, pinned.chain_id, False)
    hint = network.rpc_url if network is not None else ""
    if is_loopback(_host(coordinator_url)) and hint and is_loopback(_host(hint)):
        return ChainChoice(hint, settings.chain_id or DEVNET_CHAIN_ID, False)
    raise FarNodeError(
        "no chain RPC is set, so FarNode cannot check payouts on chain and signs nothing",
        hint="set the chain RPC (and the chain id) of the payout network in Settings",
    )


class ClaimFactory:
    """Builds the coordinator client, the chain reader, the checked signing terms and the claim service."""

    def __init__(self, settings: Settings, *, transport: HttpTransport | None = None,
                 chain_transport: HttpTransport | None = None, networks: PinnedNetworks | None = None) -> None:
        self.settings = settings
        self.networks = networks if networks is not None else installation_networks()
        self._transport = transport
        self._chain_transport = chain_transport

    def client(self) -> CoordinatorClient:
        url = coordinator_url(self.settings.coordinator_url, Settings().coordinator_url, self.networks,
                              self.settings.chain_id)  # left at its default: the one the manifest names
        return CoordinatorClient(url, transport=self._transport)

    def chain(self, client: CoordinatorClient, network: NetworkInfo | None = None) -> tuple[ChainReader, int | None]:
        """The chain reader and the chain id it must show (asks the coordinator's network only when needed)."""
        if not self.settings.chain_rpc_url and network is None:
            network = client.network()
        choice = choose_chain(self.settings, client.base_url, network, self.networks)
        return ChainReader(choice.rpc_url, transport=self._chain_transport), choice.chain_id

    def terms(self, client: CoordinatorClient) -> SigningTerms:
        """The chain, contract and fee a binding or claim is signed for, checked on the provider's chain."""
        network = client.network()
        reader, expected = self.chain(client, network)
        return verify_terms(network, reader, self.networks, expected)

    def claim_service(self, signer: Signer, ledger: Ledger, *, bus: EventBus | None = None,
                      clock: Clock | None = None) -> ClaimService:
        client = self.client()
        reader, expected = self.chain(client)
        return ClaimService(signer, client, ledger, reader, bus=bus, clock=clock, expected_chain_id=expected,
                            networks=self.networks)
