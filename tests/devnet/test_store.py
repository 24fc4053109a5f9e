"""The devnet coordinator's rules through its store's Python API: credits by blocks x tokens once per request,
settling on a clock, replayed nonces refused, claims reserving the oldest credits, failed claims giving them back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from farnode_desktop.devnet.store import ApiError, CoordinatorStore, Rules, Span

WALLET, OTHER = "0x" + "aa" * 20, "0x" + "bb" * 20
RULES = Rules(rate_per_block_token=10, min_claim=100, fee=5, settle_seconds=60)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[CoordinatorStore]:
    s = CoordinatorStore(tmp_path / "coordinator.sqlite3", RULES, clock=clock)
    yield s
    s.close()


def test_usage_credits_blocks_times_tokens_once_and_settles_on_time(store: CoordinatorStore, clock: Clock) -> None:
    store.bind("peer-a", WALLET)
    first = store.record_usage("req-1", "tiny", [Span("peer-a", 0, 4, 10), Span("peer-b", 4, 6, 10)])
    assert [(c["peer_id"], c["amount"], c["wallet"]) for c in first["credits"]] == [
        ("peer-a", "400", WALLET), ("peer-b", "200", None)]  # peer-b is bound to nobody
    again = store.record_usage("req-1", "tiny", [Span("peer-a", 0, 4, 1000)])
    assert again["duplicate"] and again["credits"] == first["credits"]
    assert store.claimable(WALLET) == 0  # still settling
    earned = store.earnings(WALLET, days=7)
    assert (earned["estimated"], earned["confirmed"], earned["nodes"][0]["served_tokens"]) == ("400", "0", 10)
    clock.now += 60
    assert store.claimable(WALLET) == 400
    earned = store.earnings(WALLET, days=7)
    assert (earned["estimated"], earned["confirmed"], earned["claimable"]) == ("0", "400", "400")
    assert earned["history"][0]["earned"] == "400" and earned["history"][0]["requests"] == 1
    store.bind("peer-b", OTHER)
    assert store.claimable(OTHER) == 200  # credits follow the binding


def test_claims_are_checked_reserve_the_oldest_credits_and_a_failed_one_gives_them_back(
    store: CoordinatorStore, clock: Clock
) -> None:
    store.bind("peer-a", WALLET)
    store.record_usage("req-1", "tiny", [Span("peer-a", 0, 3, 10)])  # 300
    clock.now += 1
    store.record_usage("req-2", "tiny", [Span("peer-a", 0, 2, 10)])  # 200
    clock.now += 60
    deadline = int(clock.now) + 600
    for amount, nonce, due, code in [(99, 0, deadline, "below_min_claim"), (501, 0, deadline, "above_claimable"),
                                     (100, 0, int(clock.now) - 1, "expired")]:
        with pytest.raises(ApiError) as err:
            store.accept_claim(f"claim-{code}", WALLET, amount, nonce, due)
        assert (err.value.status, err.value.code) == (400, code)
    assert store.next_nonce(WALLET) == 0 and store.claims_of(WALLET) == []  # a refusal uses no nonce
    store.accept_claim("claim-1", WALLET, 400, 0, deadline)
    claim = store.claim("claim-1")
    assert claim is not None and claim["state"] == "accepted" and claim["net_amount"] == "395"
    assert [(c["credit_id"], c["amount"]) for c in claim["credits"]] == [("req-1:0", "300"), ("req-2:0", "100")]
    assert store.claimable(WALLET) == 100 and store.earnings(WALLET, 7)["pending"] == "400"
    with pytest.raises(ApiError, match="replay") as err:
        store.accept_claim("claim-2", WALLET, 100, 0, deadline)
    assert err.value.status == 409 and store.claim("claim-2") is None  # rolled back whole
    store.finish_claim("claim-1", None, "the chain refused the payout")
    assert store.claimable(WALLET) == 500  # a failed claim's credits are claimable again
    store.accept_claim("claim-3", WALLET, 500, 1, deadline)
    store.finish_claim("claim-3", "0x" + "cd" * 32)
    earned = store.earnings(WALLET, 7)
    assert (earned["paid"], earned["pending"], earned["claimable"], earned["next_nonce"]) == ("500", "0", "0", 2)
    assert [c["state"] for c in store.claims_of(WALLET)] == ["failed", "paid"]


def test_the_state_outlives_the_store(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "coordinator.sqlite3"
    first = CoordinatorStore(path, RULES, clock=clock)
    first.bind("peer-a", WALLET)
    first.use_nonce(WALLET, 0, "0x01")
    first.close()
    again = CoordinatorStore(path, RULES, clock=clock)
    try:
        assert again.peers_of(WALLET) == {"peer-a": clock.now} and again.next_nonce(WALLET) == 1
    finally:
        again.close()
