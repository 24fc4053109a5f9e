"""The local ledger: claims move only along their state machine, and everything survives a restart."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.earnings.coordinator_models import ClaimCredit
from farnode_desktop.core.earnings.eip712 import Domain, payout_claim_message
from farnode_desktop.core.earnings.ledger import ClaimState, Ledger, LedgerError, PayoutAlreadyUsed, PayoutRecord
from farnode_desktop.core.paths import AppPaths

WALLET = "0x88782009F6435E58A3050D42DdE091252d26bbD1"
TOKEN = "0x" + "11" * 20


def _typed(nonce: int = 1) -> dict[str, object]:
    return payout_claim_message(
        Domain(1337, TOKEN), WALLET, amount=100, fee=1, nonce=nonce, deadline=2_000_000_000
    )


def _ledger(farnode_home: Path, clock: ManualClock | None = None) -> Ledger:
    return Ledger(AppPaths.default().ledger_file, clock=clock or ManualClock())


def test_a_claim_walks_the_state_machine_and_keeps_its_history(farnode_home: Path) -> None:
    ledger = _ledger(farnode_home)
    c = ledger.prepare_claim(coordinator_url="http://127.0.0.1:1", token=TOKEN, typed_data=_typed())
    assert (c.state, c.amount, c.fee, c.net_amount, c.nonce) == (ClaimState.PREPARED, 100, 1, 99, 1)
    ledger.mark_signed(c.id, "0xsig")
    ledger.mark_submitted(c.id, "0x" + "ab" * 32, ())
    ledger.mark_paid(c.id, "0x" + "cd" * 32)
    payout = PayoutRecord(c.id, "0x" + "cd" * 32, 7, TOKEN, WALLET, 99, 1.0, {"status": 1})
    done = ledger.mark_confirmed(c.id, payout)
    assert done.state is ClaimState.CONFIRMED and done.finished
    assert [s for s, _, _ in ledger.claim_events(c.id)] == [
        "prepared",
        "signed",
        "submitted",
        "paid",
        "confirmed",
    ]
    assert ledger.payout(c.id) == payout


@pytest.mark.parametrize(
    "path",
    [
        ["paid"],
        ["signed", "confirmed"],
        ["signed", "submitted", "paid", "confirmed", "failed"],
        ["rejected", "signed"],
    ],
)
def test_impossible_steps_are_refused(farnode_home: Path, path: list[str]) -> None:
    ledger = _ledger(farnode_home)
    c = ledger.prepare_claim(coordinator_url="http://127.0.0.1:1", token=TOKEN, typed_data=_typed())
    steps = {
        "signed": lambda: ledger.mark_signed(c.id, "0xsig"),
        "submitted": lambda: ledger.mark_submitted(c.id, "0x" + "ab" * 32, ()),
        "paid": lambda: ledger.mark_paid(c.id, "0x" + "cd" * 32),
        "confirmed": lambda: ledger.mark_confirmed(
            c.id, PayoutRecord(c.id, "0x", 1, TOKEN, WALLET, 99, 1.0, {})
        ),
        "failed": lambda: ledger.mark_failed(c.id, "x"),
        "rejected": lambda: ledger.mark_rejected(c.id, "x"),
    }
    *ok, bad = path
    for step in ok:
        steps[step]()
    before = ledger.claim(c.id).state
    with pytest.raises(LedgerError, match="cannot go from"):
        steps[bad]()
    assert ledger.claim(c.id).state is before


def test_claims_and_served_work_survive_a_restart(farnode_home: Path) -> None:
    ledger = _ledger(farnode_home)
    c = ledger.prepare_claim(coordinator_url="http://127.0.0.1:1", token=TOKEN, typed_data=_typed())
    ledger.mark_signed(c.id, "0xsig")
    ledger.record_served_work("gpu0", "12D3KooWx", period_start=100.0, period_end=200.0, tokens=50, blocks=4)
    ledger.close()
    again = _ledger(farnode_home)
    [pending] = again.unfinished_claims(WALLET)
    assert (pending.id, pending.state, pending.signature) == (c.id, ClaimState.SIGNED, "0xsig")
    assert pending.typed_data == _typed()
    assert [w.tokens for w in again.served_work("gpu0")] == [50]
    assert stat.S_IMODE(AppPaths.default().ledger_file.stat().st_mode) == 0o600


def test_served_work_resampled_for_the_same_period_counts_once(farnode_home: Path) -> None:
    ledger = _ledger(farnode_home)
    first = ledger.record_served_work("gpu0", "p", period_start=100.0, period_end=150.0, tokens=10, blocks=4)
    second = ledger.record_served_work("gpu0", "p", period_start=100.0, period_end=200.0, tokens=30, blocks=4)
    ledger.record_served_work("gpu0", "p", period_start=200.0, period_end=300.0, tokens=5, blocks=4)
    assert first == second
    assert [(w.period_end, w.tokens) for w in ledger.served_work()] == [(200.0, 30), (300.0, 5)]
    with pytest.raises(LedgerError):
        ledger.record_served_work("gpu0", "p", period_start=5.0, period_end=1.0, tokens=1, blocks=1)


def test_each_credit_links_to_the_served_work_it_came_from(farnode_home: Path) -> None:
    ledger = _ledger(farnode_home)
    work = ledger.record_served_work(
        "gpu0", "peerA", period_start=1000.0, period_end=2000.0, tokens=9, blocks=4
    )
    c = ledger.prepare_claim(coordinator_url="http://127.0.0.1:1", token=TOKEN, typed_data=_typed())
    ledger.mark_signed(c.id, "0xsig")
    credits = (
        ClaimCredit("r1:0", "r1", "peerA", 0, 4, 9, 60, 1500.0),
        ClaimCredit("r2:0", "r2", "peerB", 0, 4, 9, 40, 1500.0),
    )
    ledger.mark_submitted(c.id, "0x" + "ab" * 32, credits)
    rows = {r["credit_id"]: r for r in ledger.claim_credits(c.id)}
    assert rows["r1:0"]["served_work_id"] == work and rows["r1:0"]["node"] == "gpu0"
    assert rows["r2:0"]["served_work_id"] is None  # work this machine did not record stays unlinked


def test_a_damaged_ledger_file_is_a_clear_error(farnode_home: Path) -> None:
    path = AppPaths.default().ledger_file
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError) as err:
        Ledger(path)
    assert "cannot be opened" in str(err.value) and err.value.hint


def test_one_payout_transaction_confirms_one_claim_only(farnode_home: Path) -> None:
    ledger = _ledger(farnode_home)
    tx = "0x" + "cd" * 32
    first, second = (ledger.prepare_claim(coordinator_url="x", token=TOKEN, typed_data=_typed(n)) for n in (1, 2))
    for c in (first, second):
        ledger.mark_signed(c.id, "0xsig")
        ledger.mark_submitted(c.id, "0x" + "ab" * 32, ())
        ledger.mark_paid(c.id, tx)
    ledger.mark_confirmed(first.id, PayoutRecord(first.id, tx, 7, TOKEN, WALLET, 99, 1.0, {"status": 1}))
    with pytest.raises(PayoutAlreadyUsed, match="already confirmed another claim"):
        ledger.mark_confirmed(second.id, PayoutRecord(second.id, tx.upper().replace("0X", "0x"), 7, TOKEN, WALLET,
                                                      99, 1.0, {"status": 1}))
    assert ledger.claim(second.id).state is ClaimState.PAID and ledger.payout(second.id) is None
    failed = ledger.mark_failed(second.id, "x" * 100_000 + "\x1b[2J")
    assert len(failed.reason) < 600 and "\x1b" not in failed.reason


def test_a_ledger_that_already_holds_a_shared_payout_still_opens_and_refuses_more(farnode_home: Path) -> None:
    ledger = _ledger(farnode_home)
    ledger._db.execute("DROP INDEX payouts_tx_hash")
    tx = "0x" + "cd" * 32
    claims = [ledger.prepare_claim(coordinator_url="x", token=TOKEN, typed_data=_typed(n)) for n in (1, 2, 3)]
    for c in claims[:2]:  # what the old ledger allowed: two claims confirmed by one transaction
        ledger._db.execute("INSERT INTO payouts VALUES (?,?,?,?,?,?,?,?)", (c.id, tx, 7, TOKEN, WALLET, "99", 1.0, "{}"))
    ledger.close()
    reopened = _ledger(farnode_home)
    c = claims[2]
    reopened.mark_signed(c.id, "0xsig")
    reopened.mark_submitted(c.id, "0x" + "ab" * 32, ())
    reopened.mark_paid(c.id, tx)
    with pytest.raises(PayoutAlreadyUsed):
        reopened.mark_confirmed(c.id, PayoutRecord(c.id, tx, 7, TOKEN, WALLET, 99, 1.0, {}))


def test_a_full_disk_is_reported_as_such_and_loses_nothing_recorded(farnode_home: Path) -> None:
    ledger = _ledger(farnode_home)
    ledger.record_served_work("gpu0", "peer", period_start=0, period_end=60, tokens=100, blocks=4)
    # SQLite's own limit on the file's size: the next pages it needs are refused, as on a full disk
    pages = ledger._db.execute("PRAGMA page_count").fetchone()[0]
    ledger._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(LedgerError, match="the disk is full") as caught:
        for i in range(1, 2000):
            ledger.record_served_work("gpu0", "peer" * 200, period_start=60 * i, period_end=60 * i + 60,
                                      tokens=100, blocks=4)
    assert "rollback" not in str(caught.value)
    assert not ledger._db.in_transaction
    assert ledger.served_work("gpu0")[0].tokens == 100
    ledger.close()
