"""`farnode earnings` shows what the dashboard shows beside the figures: the forecast from what was paid, with its
basis, and the GPUs' electricity with its cost at the price set in Settings (here offline, from this PC's files)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from farnode_desktop.core.daily_totals import DAY_S, day_of, day_start
from farnode_desktop.core.earnings.coordinator_models import Earnings
from farnode_desktop.core.earnings.ledger import Ledger
from farnode_desktop.core.earnings.outlook import duty_cycle_file, energy_file
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import SettingsStore


def test_earnings_show_the_forecast_and_the_electricity(farnode_home: Path) -> None:
    from eth_account import Account

    from tests.core.earnings.test_coordinator import GOOD_EARNINGS
    from tests.core.earnings.test_forecast import settle
    from tests.devnet.helpers import clean_stderr, keyring_session

    key = "0x" + "cd" * 32
    paths = AppPaths.default().ensure()
    ledger = Ledger(paths.ledger_file)
    ledger.record_earnings(Earnings.parse({**GOOD_EARNINGS, "wallet": Account.from_key(key).address}))
    first = day_start(day_of(time.time())) - 2 * DAY_S  # two full days before today
    for day, tokens in enumerate((2_400_000, 1_200_000)):
        at = first + day * DAY_S
        ledger.record_served_work("gpu0", "peer", period_start=at, period_end=at + DAY_S, tokens=tokens, blocks=4)
        settle(ledger, at + 3600, tokens, 10**12)
    ledger.close()
    duty, energy = duty_cycle_file(paths), energy_file(paths)
    duty.totals.add_span(first, first + 2 * DAY_S, {"serving": DAY_S, "idle": 0.5 * DAY_S, "paused": 0.5 * DAY_S})
    energy.totals.add_span(first, first + 2 * DAY_S, {"wh": 3000.0})
    duty.close(first + 2 * DAY_S)
    energy.close(first + 2 * DAY_S)
    store = SettingsStore(paths.config_file)
    settings = store.load()
    settings.coordinator_url = "http://127.0.0.1:9"  # offline: the last known figures
    settings.electricity_price_per_kwh = 0.25
    store.save(settings)
    script = """
    printf '%s\\n' "$KEY" | $FARNODE wallet import >/dev/null || exit 10
    $FARNODE earnings && $FARNODE earnings --json
    """
    result = keyring_session(script, {"FARNODE_HOME": str(farnode_home), "KEY": key})
    assert result.returncode == 0, clean_stderr(result.stderr)
    text, _, raw = result.stdout.partition("\n{")
    assert "  expected: 0-8.36 FAR a day (based on 2 days: 1 FAR per million tokens served, 1.8 million tokens " \
           "served a day, serving 50 % of the time (idle without requests 25 %, paused 25 %))" in text
    assert ("  electricity: GPUs drew 1.50 kWh a day (last 2 days), 0.00 kWh today · about 0.38 a day at 0.25 per "
            "kWh") in text
    body = json.loads("{" + raw)
    assert body["forecast"]["ready"] and body["forecast"]["mid_wei"] == str(18 * 10**17)
    assert body["electricity"] == {"today_kwh": 0.0, "kwh_per_day": 1.5, "days": 2, "price_per_kwh": 0.25,
                                   "cost_per_day": 0.375}
