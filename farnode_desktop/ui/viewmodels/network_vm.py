"""What the Settings and wallet windows say about the payout network this installation pins: the FAR token and the
payout contract FarNode signs and confirms for (core/earnings/network.py), never what a coordinator names."""

from __future__ import annotations

from dataclasses import dataclass

import farnode_desktop
from farnode_desktop.core.earnings.network import PinnedNetworks


@dataclass(frozen=True)
class PinnedView:
    """The pinned network in words: `summary` for one muted line, `warning_line` for a line of its own in the
    warning colour ("" when this FarNode may claim there), `pinned` False when none."""

    pinned: bool
    chain: str
    token: str
    contract: str
    summary: str
    fee: str = ""  # what the network keeps of a payout, from the manifest ("" when it states none)
    warning: str = ""  # this FarNode is older than the chain asks for: update to keep claiming

    @property
    def warning_line(self) -> str:
        return f"Warning: {self.warning}." if self.warning else ""


def pinned_view(networks: PinnedNetworks, chain_id: int | None, app_version: str | None = None) -> PinnedView:
    """The network the provider's chain id (or, unset, the installation's first pinned network) pays on, with the
    network's share of a payout and, when this FarNode is too old to claim there, why."""
    network = networks.preferred(chain_id)
    if network is None or not network.pinned or network.token is None or network.payout_contract is None:
        where = f"chain {chain_id}" if chain_id is not None else "any chain"
        why = f" ({networks.problems[0]})" if networks.problems else ""
        return PinnedView(False, where, "none pinned", "none pinned",
                          f"This installation pins no FAR token for {where}{why}: FarNode signs no claim and "
                          "confirms no payout there.")
    chain = f"{network.name} (chain {network.chain_id})"
    same = network.token.lower() == network.payout_contract.lower()
    contract = "the FAR token itself" if same else network.payout_contract
    fee = f"The network keeps {network.fee_text}. " if network.fee_bps is not None else ""
    warning = network.too_old(app_version or farnode_desktop.__version__) or ""
    summary = (f"Paid in FAR {network.token} on {chain}; payouts come from {contract}. {fee}Pinned by this "
               "installation: a coordinator cannot change them.")
    return PinnedView(True, chain, network.token, network.payout_contract, summary, network.fee_text, warning)
