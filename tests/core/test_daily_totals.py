"""Per-day totals: spans spread over the UTC days they cover, kept in an atomically written file; a damaged file is
set aside with a plain sentence and the record starts again."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.core.daily_totals import DailyTotals, day_of, day_start, full_days

MIDNIGHT = day_start("2026-12-07")


def test_a_span_across_midnight_is_split_between_the_two_days(tmp_path: Path) -> None:
    totals = DailyTotals(tmp_path / "t.json", ("a", "b"))
    totals.add_span(MIDNIGHT - 600, MIDNIGHT + 1800, {"a": 2400.0})
    assert totals.day("2026-12-06") == {"a": pytest.approx(600.0), "b": 0.0}
    assert totals.day("2026-12-07") == {"a": pytest.approx(1800.0), "b": 0.0}
    assert totals.first_seen == MIDNIGHT - 600
    with pytest.raises(ValueError, match="not one of"):
        totals.add_span(MIDNIGHT, MIDNIGHT + 1, {"c": 1.0})


def test_totals_are_saved_at_most_once_a_period_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    totals = DailyTotals(path, ("a",), save_every_s=60)
    totals.add_span(MIDNIGHT, MIDNIGHT + 10, {"a": 10.0})
    totals.save(MIDNIGHT + 10)
    totals.add_span(MIDNIGHT + 10, MIDNIGHT + 20, {"a": 10.0})
    totals.save(MIDNIGHT + 20)  # too soon: the file still holds the first 10
    assert DailyTotals(path, ("a",)).day("2026-12-07")["a"] == pytest.approx(10.0)
    totals.save(MIDNIGHT + 71)
    again = DailyTotals(path, ("a",))
    assert again.day("2026-12-07")["a"] == pytest.approx(20.0) and again.first_seen == MIDNIGHT
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("body", ["not json", '{"days": {"2026-12-07": {"a": "x"}}}', '{"days": {"bad": {}}}',
                                  '{"days": {"2026-12-07": {"zzz": 1}}}', '[1, 2]'])
def test_a_damaged_file_is_set_aside_and_the_record_starts_again(tmp_path: Path, body: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(body)
    totals = DailyTotals(path, ("a",))
    assert totals.days() == [] and totals.problem is not None and "moved to t.json.bad-" in totals.problem
    assert not path.exists() and list(tmp_path.glob("t.json.bad-*"))


def test_full_days_are_the_whole_days_recorded_from_their_start() -> None:
    now = MIDNIGHT + 3 * 3600  # 03:00 on the 7th
    assert full_days(None, now, 7) == []
    assert full_days(MIDNIGHT - 86400 * 2, now, 7) == ["2026-12-05", "2026-12-06"]  # begun at midnight
    assert full_days(MIDNIGHT - 86400 * 2 + 1, now, 7) == ["2026-12-06"]  # begun after midnight: its day left out
    assert len(full_days(MIDNIGHT - 86400 * 30, now, 7)) == 7
    assert day_of(MIDNIGHT - 1) == "2026-12-06"
