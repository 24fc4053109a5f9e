"""The ledger finds recent served work without reading all of it: the dashboard asks for the last two minutes every
second (the headline's rate) and the chart for the last hour or day, while the ledger keeps months of minutes."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.earnings.ledger import Ledger


def test_recent_served_work_is_read_through_an_index(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    for minute in range(3):
        ledger.record_served_work("gpu0", "peer", period_start=60.0 * minute, period_end=60.0 * minute + 60,
                                  tokens=100, blocks=4)
    plan = " ".join(str(tuple(row)) for row in ledger._rows(
        "EXPLAIN QUERY PLAN SELECT * FROM served_work WHERE period_end>? ORDER BY period_start", (120.0,)))
    assert "served_work_end" in plan, plan
    assert [w.tokens for w in ledger.served_work(since=130.0)] == [100]
    ledger._db.execute("DROP INDEX served_work_end")  # as a ledger written before the index was
    ledger.close()
    reopened = Ledger(tmp_path / "ledger.sqlite3")  # gets it when opened
    names = [r["name"] for r in reopened._rows("SELECT name FROM sqlite_master WHERE type='index'")]
    assert "served_work_end" in names and len(reopened.served_work(since=0.0)) == 3
