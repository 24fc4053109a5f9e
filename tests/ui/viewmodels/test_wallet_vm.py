"""The wallet view-model on a real devnet (chain + coordinator over loopback HTTP): what it shows without a wallet,
the devnet's figures and days once there is one, a quote the coordinator refuses, and the claim's steps."""

from __future__ import annotations

import datetime as dt

from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.earnings.ledger import ClaimState
from farnode_desktop.core.events import Event
from farnode_desktop.ui.tasks import TaskRunner
from farnode_desktop.ui.viewmodels.format import day_label
from farnode_desktop.ui.viewmodels.wallet_vm import WalletViewModel
from tests.core.earnings.test_wallet import PHRASE, PHRASE_ADDRESS
from tests.devnet.helpers import DEVNET_FEE, DEVNET_MIN_CLAIM

TITLES = ["Estimated", "Confirmed", "Claimable", "Paid"]


def test_without_a_wallet_the_figures_are_blank(devnet_core: AppCore, tasks: TaskRunner, qtbot: QtBot) -> None:
    vm = WalletViewModel(devnet_core, tasks)
    assert vm.data is None and vm.address is None and vm.step_index() == 0
    with qtbot.waitSignal(vm.changed, timeout=10_000):
        vm.refresh()
    assert vm.data is not None and vm.data.address is None and vm.data.earnings is None and vm.data.payouts == ()
    assert not vm.loading
    assert vm.figures() == [(t, "—", note) for t, (_, _, note) in zip(TITLES, vm.figures(), strict=True)]
    assert vm.daily() == ([], "FAR")


def test_the_devnets_figures_days_and_a_quote_below_the_minimum(devnet_core: AppCore, tasks: TaskRunner,
                                                                qtbot: QtBot) -> None:
    wallet = devnet_core.wallet()
    assert wallet is not None and wallet.import_mnemonic(PHRASE) == PHRASE_ADDRESS
    vm = WalletViewModel(devnet_core, tasks)
    with qtbot.waitSignal(vm.changed, timeout=20_000):
        vm.refresh()
    assert vm.address == PHRASE_ADDRESS
    data = vm.data
    assert data is not None and data.earnings is not None and data.payouts == ()
    assert (data.earnings.min_claim, data.earnings.fee) == (DEVNET_MIN_CLAIM, DEVNET_FEE)  # the devnet's own rules
    assert [(t, v) for t, v, _ in vm.figures()] == [(t, "0 FAR") for t in TITLES]
    now = dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC).timestamp()
    days, unit = vm.daily(now=now)
    assert unit == "FAR" and [v for _, v in days] == [0.0] * 7
    assert [d for d, _ in days] == [day_label(f"2026-11-{n}") for n in range(20, 27)]  # UTC days, today last

    with qtbot.waitSignal(vm.claim_changed, timeout=20_000):
        vm.request_quote()
    qtbot.waitUntil(lambda: vm.quote is not None, timeout=20_000)
    quote = vm.quote
    assert quote is not None and not quote.can_claim and quote.problem
    assert vm.claim_message == quote.problem
    vm.confirm_claim()  # nothing to claim: no signing, no claim in the ledger
    assert not vm.claiming and devnet_core.ledger.claims(PHRASE_ADDRESS) == []


def test_claim_events_move_the_steps(core: AppCore, tasks: TaskRunner) -> None:
    vm = WalletViewModel(core, tasks)
    vm.on_event(Event("claim.signed", "wallet", "signed for chain 31337", {"state": "signed"}))
    assert (vm.claim_state, vm.step_index()) == (ClaimState.SIGNED, 2)
    assert vm.claim_message == "Signed by your wallet: signed for chain 31337"
    vm.on_event(Event("claim.confirmed", "wallet", "in block 12", {"state": "confirmed", "tx_hash": "0xabc"}))
    assert (vm.step_index(), vm.claim_tx, vm.claim_message) == (5, "0xabc", "Confirmed on chain: in block 12")
    vm.on_event(Event("node.state", "gpu0", "serving", {"state": "serving"}))  # not a claim: ignored
    vm.on_event(Event("claim.odd", "wallet", "?", {"state": "teleported"}))  # an unknown state: ignored
    assert vm.claim_state is ClaimState.CONFIRMED
    vm.on_event(Event("claim.rejected", "wallet", "below the minimum", {"state": "rejected"}))
    assert vm.step_index() == 0 and vm.claim_message == "Rejected: below the minimum"


def test_confirm_asks_again_and_signs_nothing_when_the_fresh_figures_differ(devnet_core: AppCore, tasks: TaskRunner,
                                                                          qtbot: QtBot) -> None:
    """The issue's case: a review offering 0.002 FAR with Confirm enabled while the coordinator has less."""
    import dataclasses

    wallet = devnet_core.wallet()
    assert wallet is not None and wallet.import_mnemonic(PHRASE) == PHRASE_ADDRESS
    vm = WalletViewModel(devnet_core, tasks)
    with qtbot.waitSignal(vm.changed, timeout=20_000):
        vm.refresh()
    vm.request_quote()
    qtbot.waitUntil(lambda: vm.quote is not None, timeout=20_000)
    assert vm.quote is not None
    stale = dataclasses.replace(vm.quote, amount=2 * 10**15, net_amount=2 * 10**15 - DEVNET_FEE, problem="")
    vm.quote = stale  # what an old review showed
    with qtbot.waitSignal(vm.claim_changed, timeout=20_000):
        vm.confirm_claim()
    qtbot.waitUntil(lambda: not vm.claiming, timeout=20_000)
    assert vm.quote is not None and vm.quote.amount == 0 and not vm.quote.can_claim  # the fresh review replaced it
    assert vm.claim_message.startswith("Nothing was claimed: you have 0 FAR to claim")
    assert "wei" not in vm.claim_message and devnet_core.ledger.claims(PHRASE_ADDRESS) == []


def test_a_review_that_disagrees_with_fresh_figures_is_dropped(devnet_core: AppCore, tasks: TaskRunner,
                                                               qtbot: QtBot) -> None:
    import dataclasses

    wallet = devnet_core.wallet()
    assert wallet is not None and wallet.import_mnemonic(PHRASE) == PHRASE_ADDRESS
    vm = WalletViewModel(devnet_core, tasks)
    vm.request_quote()
    qtbot.waitUntil(lambda: vm.quote is not None, timeout=20_000)
    assert vm.quote is not None
    vm.quote = dataclasses.replace(vm.quote, amount=5)
    with qtbot.waitSignal(vm.changed, timeout=20_000):
        vm.refresh()  # the cards now say 0 claimable: the review offering 5 goes
    assert vm.quote is None and vm.claim_message == "The claimable amount changed; review the claim again."


def test_a_claim_message_with_a_wei_figure_reads_in_far(core: AppCore, tasks: TaskRunner) -> None:
    """A refusal from anywhere below (the signing policy, the coordinator) never shows wei to the provider."""
    from farnode_desktop.core.errors import FarNodeError

    vm = WalletViewModel(core, tasks)
    vm._claim_failed(FarNodeError("refusing to sign: the claim's fee (10000000000000 wei) is not the network's"))
    assert vm.claim_message == "refusing to sign: the claim's fee (0.00001 FAR) is not the network's"
    vm.on_event(Event("claim.rejected", "wallet", "above the claimable 828000000000000 wei", {"state": "rejected"}))
    assert vm.claim_message == "Rejected: above the claimable 0.000828 FAR"
