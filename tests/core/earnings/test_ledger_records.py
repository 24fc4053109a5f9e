"""A ledger damaged in different ways: binary garbage, truncated at many points, values of the wrong kind, text
that is not JSON, unknown states, a claim stored twice, a folder in its place. Each ends in a plain LedgerError or a
read that keeps every good row (and names what it left out); the file is never written over."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.earnings.coordinator_models import ClaimCredit
from farnode_desktop.core.earnings.ledger import ClaimState, Ledger, LedgerError, PayoutRecord
from farnode_desktop.core.earnings.ledger_records import DamagedRow, claim_from_row
from tests.core.earnings.test_ledger import TOKEN, WALLET, _typed


def _filled(path: Path, claims: int = 30) -> list[str]:
    """A real ledger with `claims` claims (every third confirmed with a payout), served work and a snapshot."""
    ledger = Ledger(path, clock=ManualClock())
    ids = []
    for n in range(claims):
        record = ledger.prepare_claim(coordinator_url="https://c.example", token=TOKEN, typed_data=_typed(n + 1))
        ids.append(record.id)
        if n % 3 == 0:
            ledger.mark_signed(record.id, "0x" + "ab" * 65)
            ledger.mark_submitted(record.id, "0x" + f"{n:064x}", (ClaimCredit("c", "r", "p", 0, 1, 1, 1, 1.0),))
            ledger.mark_paid(record.id, "0x" + f"{n + 1:064x}")
            ledger.mark_confirmed(record.id, PayoutRecord(record.id, "0x" + f"{n + 1:064x}", 7, TOKEN, WALLET, 99,
                                                          1.0, {"status": 1}))
        ledger.record_served_work("gpu0", "peer", period_start=n * 60.0, period_end=n * 60.0 + 60, tokens=n,
                                  blocks=4)
    ledger.close()
    return ids


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_everything(path: Path) -> list[str]:
    """Everything a provider's screens read; the claim ids it could read (LedgerError is the plain outcome)."""
    ledger = Ledger(path)
    try:
        claims = ledger.claims()
        for claim in claims:
            ledger.payout(claim.id)
            ledger.claim_events(claim.id)
            ledger.claim_credits(claim.id)
        ledger.served_work()
        ledger.unfinished_claims()
        ledger.latest_earnings(WALLET)
        return [c.id for c in claims]
    finally:
        ledger.close()


@pytest.mark.parametrize("seed", range(4))
def test_binary_garbage_is_a_plain_error_and_is_not_written_over(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(random.Random(seed).randbytes(8192 * (seed + 1)))
    before = _digest(path)
    with pytest.raises(LedgerError, match="cannot be opened") as err:
        Ledger(path)
    assert err.value.hint and _digest(path) == before


def test_a_ledger_truncated_anywhere_is_a_plain_error_or_a_good_read(tmp_path: Path) -> None:
    whole = tmp_path / "whole.sqlite3"
    ids = _filled(whole)
    raw = whole.read_bytes()
    outcomes = set()
    for cut in sorted({1, 16, 99, 100, 512, 4096, 4097, len(raw) // 4, len(raw) // 2, len(raw) - 4096, len(raw) - 1}):
        path = tmp_path / f"cut-{cut}.sqlite3"
        path.write_bytes(raw[:cut])
        before = _digest(path)
        try:
            read = _read_everything(path)
        except LedgerError as exc:
            assert exc.hint or "cannot be opened" in str(exc), cut
            outcomes.add("plain error")
        else:
            assert set(read) <= set(ids), cut  # nothing invented
            outcomes.add("read")
        assert _digest(path) == before or cut < 100, f"the cut-{cut} ledger was written over"
    assert "plain error" in outcomes


def _damage(path: Path, sql: str, *args: object) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql, args)
    db.close()


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("amount", "lots", "amount is 'lots', not a whole number"),
        ("amount", 12.5, "amount is '12.5'"),  # a TEXT column keeps it as text
        ("fee", "-1", "fee is '-1', not a whole number"),
        ("typed_data", "{broken", "typed_data is not readable JSON"),
        ("typed_data", "[1, 2]", "typed_data is not a JSON object"),
        ("typed_data", "[" * 5000, "typed_data is not readable JSON"),
        ("state", "bogus", "state is 'bogus', not a claim state"),
        ("chain_id", "one", "chain_id is 'one'"),
        ("nonce", b"\x00\xff", "nonce is b'"),
        ("created_at", "yesterday", "created_at is 'yesterday', not a time"),
        ("wallet", b"\x01", "wallet is b'\\x01', not text"),
    ],
)
def test_a_claim_row_of_the_wrong_kind_is_left_out_and_every_good_row_kept(
    tmp_path: Path, column: str, value: object, why: str
) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = _filled(path, claims=6)
    bad = ids[2]
    _damage(path, f"UPDATE claims SET {column}=? WHERE id=?", value, bad)
    ledger = Ledger(path)
    read = [c.id for c in ledger.claims()]
    assert read == [i for i in ids if i != bad]  # every good row, in order
    [problem] = ledger.problems
    assert bad in problem and why in problem and "left out" in problem
    with pytest.raises(LedgerError, match="is damaged in the ledger") as err:
        ledger.claim(bad)
    assert why in str(err.value) and err.value.hint
    assert [c.id for c in ledger.unfinished_claims()] == [c.id for c in ledger.claims() if not c.finished]


def test_damaged_payouts_served_work_and_snapshots_are_plain_or_passed_over(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = _filled(path, claims=6)
    ledger = Ledger(path)
    from farnode_desktop.core.earnings.coordinator_models import Earnings

    good = Earnings.parse({"wallet": WALLET, "symbol": "FAR", "decimals": 18, "estimated": "1", "confirmed": "2",
                           "claimable": "2", "pending": "0", "paid": "0", "min_claim": "1", "fee": "0",
                           "next_nonce": 0, "as_of": 1.0, "nodes": [], "history": []})
    ledger.record_earnings(good)
    ledger.record_earnings(good)
    ledger.close()
    _damage(path, "UPDATE payouts SET receipt='not json' WHERE claim=?", ids[0])
    _damage(path, "UPDATE served_work SET tokens='many' WHERE id=2")
    _damage(path, "UPDATE earnings_snapshots SET body=? WHERE id=(SELECT max(id) FROM earnings_snapshots)", "\x00{")
    ledger = Ledger(path)
    with pytest.raises(LedgerError, match=f"the payout of claim {ids[0]} is damaged"):
        ledger.payout(ids[0])
    assert ledger.payout(ids[3]) is not None
    work = ledger.served_work()
    assert [w.id for w in work] == [1, 3, 4, 5, 6] and "served-work row 2 is damaged" in ledger.problems[0]
    snapshot = ledger.latest_earnings(WALLET)
    assert snapshot is not None and snapshot[1]["claimable"] == "2"


def test_a_claim_stored_twice_is_read_once_in_its_latest_state(tmp_path: Path) -> None:
    """A ledger whose claims table lost its primary key (rebuilt by hand, or by a tool) and holds one claim twice."""
    path = tmp_path / "ledger.sqlite3"
    ids = _filled(path, claims=4)
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE claims RENAME TO claims_old")
        columns = ", ".join(r[1] + " " + (r[2] or "") for r in db.execute("PRAGMA table_info(claims_old)"))
        db.execute(f"CREATE TABLE claims ({columns})")
        db.execute("INSERT INTO claims SELECT * FROM claims_old")
        db.execute("INSERT INTO claims SELECT * FROM claims_old WHERE id=?", (ids[1],))
        db.execute("UPDATE claims SET state='failed', updated_at=updated_at+5 WHERE rowid=(SELECT max(rowid) FROM"
                   " claims)")
    db.close()
    ledger = Ledger(path)
    claims = ledger.claims()
    assert [c.id for c in claims] == ids
    assert claims[1].state is ClaimState.FAILED  # the later of the two
    assert ledger.problems == [f"claim {ids[1]} is stored twice in the ledger; its latest state is shown"]


def test_a_folder_or_a_file_in_the_way_is_a_plain_error(tmp_path: Path) -> None:
    (tmp_path / "ledger.sqlite3").mkdir()
    with pytest.raises(LedgerError, match="is not a file"):
        Ledger(tmp_path / "ledger.sqlite3")
    (tmp_path / "data").write_text("a file where the data folder should be")
    with pytest.raises(LedgerError, match="cannot be opened") as err:
        Ledger(tmp_path / "data" / "ledger.sqlite3")
    assert "folder" in err.value.hint


def test_claim_from_row_names_the_first_bad_field(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    [first] = _filled(path, claims=1)
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM claims").fetchone()
        assert claim_from_row(row).id == first
        db.execute("UPDATE claims SET deadline='soon'")
        with pytest.raises(DamagedRow, match="deadline is 'soon'"):
            claim_from_row(db.execute("SELECT * FROM claims").fetchone())
    db.close()


_COLUMNS = ("wallet", "coordinator_url", "chain_id", "token", "amount", "fee", "nonce", "deadline", "typed_data",
            "signature", "state", "reason", "claim_id", "tx_hash", "created_at", "updated_at")


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(_COLUMNS),
                                 st.one_of(st.text(max_size=40), st.integers(-2**63, 2**63 - 1),
                                           st.floats(allow_nan=True), st.binary(max_size=40),
                                           st.sampled_from(["{", "[]", "null", "1e999", "\x00", "٣", "paid"]))),
                       min_size=1, max_size=4))
def test_any_damage_to_claim_rows_keeps_every_untouched_row(tmp_path: Path, damage: list[tuple[int, str, object]]
                                                           ) -> None:
    """Hypothesis: any values of any kind written into any columns of some claims (NOT NULL refusals aside); the read
    never raises, keeps every claim left untouched, and names each it left out."""
    path = tmp_path / f"fuzz-{uuid.uuid4().hex}.sqlite3"
    ids = _filled(path, claims=6)
    touched = set()
    with sqlite3.connect(path) as db:
        for index, column, value in damage:
            try:
                db.execute(f"UPDATE claims SET {column}=? WHERE id=?", (value, ids[index]))
            except sqlite3.IntegrityError:
                continue  # a NOT NULL column refuses a null: nothing changed
            touched.add(ids[index])
    db.close()
    ledger = Ledger(path)
    try:
        read = {c.id for c in ledger.claims()}
        assert set(ids) - touched <= read
        assert len(ledger.problems) == len(set(ids) - read)
        for claim in ids:
            try:
                ledger.claim(claim)
                ledger.payout(claim)
            except LedgerError as exc:
                assert exc.hint
    finally:
        ledger.close()
        path.unlink()


def test_a_ledger_that_cannot_be_opened_is_kept_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    garbage = random.Random(7).randbytes(20_000)
    path.write_bytes(garbage)
    ledger, note = Ledger.open_or_set_aside(path)
    try:
        [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("ledger.sqlite3.bad-")]
        assert aside.read_bytes() == garbage  # kept whole, nothing deleted
        assert f"it was kept as {aside}" in note and "a new ledger was started" in note
        assert ledger.claims() == [] and path.is_file()
    finally:
        ledger.close()
    again, note = Ledger.open_or_set_aside(path)  # a good ledger: opened as it is
    again.close()
    assert note == ""
    (tmp_path / "folder.sqlite3").mkdir()
    with pytest.raises(LedgerError, match="is not a file"):  # what cannot be moved aside safely stays an error
        Ledger.open_or_set_aside(tmp_path / "folder.sqlite3")
