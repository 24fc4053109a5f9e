"""The devnet store's transactions: a write that fails half-way is rolled back whole, the shared connection is never
left inside a transaction, and a whole number SQLite cannot hold is refused (a 400) before it is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.devnet.store import MAX_STORED_INT, ApiError, CoordinatorStore, Rules, Span

WALLET = "0x" + "aa" * 20
RULES = Rules(rate_per_block_token=10, min_claim=100, fee=5, settle_seconds=0)
NOW = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CoordinatorStore]:
    s = CoordinatorStore(tmp_path / "coordinator.sqlite3", RULES, clock=lambda: NOW)
    s.bind("peer-a", WALLET)
    yield s
    s.close()


def rows(store: CoordinatorStore, table: str) -> int:
    return int(store._q(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])


def test_a_usage_report_failing_half_way_is_rolled_back_and_the_next_one_is_stored(store: CoordinatorStore) -> None:
    bad: Any = None  # the second span's peer breaks a NOT NULL column after the report and one credit are written
    with pytest.raises(Exception, match="NOT NULL"):
        store.record_usage("req-1", "tiny", [Span("peer-a", 0, 1, 10), Span(bad, 0, 1, 10)])
    assert not store._db.in_transaction
    assert (rows(store, "usage_reports"), rows(store, "credits")) == (0, 0)
    store.record_usage("req-1", "tiny", [Span("peer-a", 0, 1, 10)])  # the same request id is not taken
    assert (rows(store, "usage_reports"), rows(store, "credits")) == (1, 1)


@pytest.mark.parametrize("span", [Span("peer-a", 0, 2**63, 1), Span("peer-a", 0, 1, 2**64), Span("peer-a", -1, 1, 1),
                                  Span("peer-a", 0, 1, MAX_STORED_INT + 1)])
def test_span_numbers_sqlite_cannot_hold_are_refused_before_anything_is_stored(store: CoordinatorStore,
                                                                             span: Span) -> None:
    with pytest.raises(ApiError) as err:
        store.record_usage("req-1", "tiny", [Span("peer-a", 0, 1, 10), span])
    assert err.value.status == 400 and "whole number from 0 to" in err.value.message
    assert not store._db.in_transaction and rows(store, "credits") == 0


@pytest.mark.parametrize("nonce,deadline", [(2**63, NOW + 60), (1, 2**63), (MAX_STORED_INT + 1, NOW + 60)])
def test_a_claim_with_a_nonce_or_deadline_past_the_limit_is_refused(store: CoordinatorStore, nonce: int,
                                                                    deadline: float) -> None:
    store.record_usage("req-1", "tiny", [Span("peer-a", 0, 100, 10)])
    with pytest.raises(ApiError) as err:
        store.accept_claim("0x" + "11" * 32, WALLET, 1000, nonce, int(deadline))
    assert err.value.status == 400
    assert not store._db.in_transaction and rows(store, "claims") == rows(store, "nonces") == 0
    store.accept_claim("0x" + "11" * 32, WALLET, 1000, MAX_STORED_INT, int(NOW) + 60)  # the largest still fits
    assert rows(store, "claims") == rows(store, "nonces") == 1


def test_a_claim_failing_inside_its_transaction_takes_back_its_nonce(store: CoordinatorStore) -> None:
    store.record_usage("req-1", "tiny", [Span("peer-a", 0, 100, 10)])
    store.accept_claim("0x" + "11" * 32, WALLET, 1000, 1, int(NOW) + 60)
    with pytest.raises(Exception, match="UNIQUE"):  # a second claim with the same id: the nonce row is written first
        store.accept_claim("0x" + "11" * 32, WALLET, 1000, 2, int(NOW) + 60)
    assert not store._db.in_transaction
    assert store.next_nonce(WALLET) == 2 and rows(store, "claims") == 1
