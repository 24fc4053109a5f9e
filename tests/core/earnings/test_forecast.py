"""The forecast from the ledger: FAR settled per served token (confirmed claims only, net of the fee) times the
tokens this PC served a day, a 90 % range from the spread of the days, its basis in words, and "not enough history
yet" until two full days with settled payouts exist."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from farnode_desktop.core.daily_totals import DAY_S, day_start
from farnode_desktop.core.earnings.coordinator_models import ClaimCredit
from farnode_desktop.core.earnings.duty_cycle import DutyCycle
from farnode_desktop.core.earnings.forecast import far_amount, make_forecast, per_tokens_text, settled_by_day
from farnode_desktop.core.earnings.ledger import Ledger, PayoutRecord
from farnode_desktop.core.earnings.outlook import pause_cost_text

D0 = day_start("2026-12-01")
WALLET = "0x" + "ab" * 20
FAR = 10**18


def settle(ledger: Ledger, at: float, block_tokens: int, wei_per_token: int, *, fee: int = 0,
           confirm: bool = True) -> None:
    """One claim paying one credit of `block_tokens` (4 blocks) credited at `at`, confirmed on chain if `confirm`."""
    amount = block_tokens * wei_per_token
    typed = {"domain": {"chainId": 1}, "message": {"wallet": WALLET, "amount": amount, "fee": fee, "nonce": 0,
                                                   "deadline": int(at) + 3600}}
    claim = ledger.prepare_claim(coordinator_url="http://127.0.0.1:1", token="0x" + "cd" * 20, typed_data=typed)
    ledger.mark_signed(claim.id, "0xsig")
    credit = ClaimCredit(uuid.uuid4().hex, "r", "peer", 0, 4, block_tokens // 4, amount, at)
    ledger.mark_submitted(claim.id, "0x" + "11" * 32, (credit,))
    if confirm:
        tx = "0x" + uuid.uuid4().hex * 2
        ledger.mark_paid(claim.id, tx)
        ledger.mark_confirmed(claim.id, PayoutRecord(claim.id, tx, 1, "0x" + "cd" * 20, WALLET, amount - fee, at, {}))


def serve(ledger: Ledger, day: int, tokens: int) -> None:
    """`tokens` served on day `day` in 24 hourly periods."""
    for hour in range(24):
        start = D0 + day * DAY_S + hour * 3600
        ledger.record_served_work("gpu0", "peer", period_start=start, period_end=start + 3600, tokens=tokens // 24,
                                  blocks=4)


def test_not_enough_history_until_two_full_days_with_settled_payouts(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    assert not make_forecast(ledger, None, D0 + 3600).ready
    serve(ledger, 0, 2_400_000)
    serve(ledger, 1, 2_400_000)
    settle(ledger, D0 + 3600, 2_400_000, 10**12)
    early = make_forecast(ledger, None, D0 + 2 * DAY_S + 60)
    assert not early.ready and early.range_text == "Not enough history yet"
    assert early.basis == ("a forecast needs 2 full days of serving with payouts settled on chain (so far 2 full "
                           "days recorded, payouts settled on 1 day)")
    settle(ledger, D0 + DAY_S + 3600, 2_400_000, 10**12, confirm=False)  # claimed, not yet confirmed: not settled
    assert not make_forecast(ledger, None, D0 + 2 * DAY_S + 60).ready
    assert early.wei_per_token == pytest.approx(10**12)  # a settled rate already prices a pause in FAR


def test_the_forecast_is_the_settled_rate_times_the_tokens_served_a_day_with_a_range(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    served = [2_400_000, 1_200_000, 3_600_000]
    for day, tokens in enumerate(served):
        serve(ledger, day, tokens)
        settle(ledger, D0 + day * DAY_S + 7200, tokens, 10**12, fee=tokens * 10**11)  # 10 % fee: 0.9e12 net
    settle(ledger, D0 + 3 * DAY_S + 60, 10_000, 10**12)  # today's: counts in the rate, today is no full day yet
    duty = DutyCycle(tmp_path / "duty.json")
    duty.totals.add_span(D0, D0 + 3 * DAY_S, {"serving": 0.6 * 3 * DAY_S, "paused": 0.4 * 3 * DAY_S})
    forecast = make_forecast(ledger, duty, D0 + 3 * DAY_S + 3600)
    assert forecast.ready and [d.day for d in forecast.days] == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert [d.far_wei for d in forecast.days] == pytest.approx([2.16 * FAR, 1.08 * FAR, 3.24 * FAR])
    assert forecast.mid_wei == pytest.approx(2.16 * FAR)
    # a 90 % prediction range for the next day: t(0.95, 2 df) x sd x sqrt(1 + 1/3)
    assert forecast.high_wei - forecast.mid_wei == pytest.approx(2.920 * 1.08 * FAR * (4 / 3) ** 0.5)
    assert forecast.low_wei == 0.0  # never below nothing
    assert forecast.range_text == "0-5.8 FAR a day"
    assert forecast.basis == ("based on 3 days: 0.9 FAR per million tokens served, 2.4 million tokens served a day, "
                              "serving 60 % of the time (paused 40 %)")


def test_amounts_in_words_and_a_pause_priced_in_far_or_in_tokens(tmp_path: Path) -> None:
    assert [far_amount(w) for w in (0, 0.999996 * FAR, 0.8 * FAR, 1.25 * FAR, 0.01234 * FAR, 12345 * FAR)] == [
        "0", "1", "0.8", "1.25", "0.0123", "12,345"]
    assert per_tokens_text(8e14) == "0.8 FAR per 1,000 tokens served"
    assert per_tokens_text(1e12) == "1 FAR per million tokens served"
    assert per_tokens_text(5e16) == "0.05 FAR per token served"
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    none_yet = make_forecast(ledger, None, D0)
    assert pause_cost_text(none_yet, 100.0, 7200) == (
        "a 2 h pause = about 720,000 served tokens (no payout has settled yet to price them in FAR)")
    settle(ledger, D0 + 60, 1000, 10**12)
    priced = make_forecast(ledger, None, D0 + 120)
    assert pause_cost_text(priced, 100.0, 7200) == "a 2 h pause = about 0.72 FAR"
    assert pause_cost_text(priced, 100.0, None) == "each hour paused = about 0.36 FAR"
    assert pause_cost_text(priced, 0.0, 3600) == "nothing is being served right now, so pausing costs nothing"
    assert settled_by_day(ledger, 0.0) == {"2026-12-01": (pytest.approx(1000 * 10**12), 1000)}
