"""The forecast against what is paid, over simulated days on the real devnet: a real chain and coordinator on
loopback whose clock is the simulation's, usage reported over HTTP as the gateway does, a claim signed, paid on
chain and confirmed each morning, the real ledger, served-work recorder and duty cycle. Each morning's forecast is
compared with what that day then actually paid (FAR settled on chain, net of the fee)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from farnode_desktop.core.clock import ManualClock
from farnode_desktop.core.daily_totals import DAY_S, day_of, day_start
from farnode_desktop.core.earnings.claims import ClaimService
from farnode_desktop.core.earnings.coordinator import CoordinatorClient
from farnode_desktop.core.earnings.duty_cycle import DutyCycle
from farnode_desktop.core.earnings.forecast import Forecast, make_forecast, settled_by_day
from farnode_desktop.core.earnings.ledger import ClaimState, Ledger
from farnode_desktop.core.earnings.payouts import ChainReader
from farnode_desktop.core.earnings.served_work import ServedWorkRecorder
from farnode_desktop.core.node.status import NodeState, NodeStatus
from farnode_desktop.devnet import Devnet, Rules
from tests.devnet.helpers import (
    DEVNET_FEE,
    DEVNET_MIN_CLAIM,
    KeySigner,
    devnet_networks,
    devnet_terms,
    report_usage,
)

PEER = "12D3KooWForecastWeekPeer"
BLOCKS = 4  # the node serves blocks 0-3: its counter counts each token once per block, as the coordinator credits
RATE = 10**12  # wei per block-token
TICK_S = 60.0
HISTORY_DAYS = 2  # the first forecast needs two full days of settled payouts; then seven forecasts follow


@dataclass(frozen=True)
class Day:
    """One simulated day: requests per second while serving, the evening's game, the night without requests."""

    demand: float  # tokens/s reaching the node while it serves
    game_hours: float  # paused for a game from 19:00
    quiet_hours: float  # up without requests from 02:00


STEADY = [Day(400.0 * (1 + 0.02 * ((d * 5) % 3 - 1)), 3.0, 5.0) for d in range(HISTORY_DAYS + 7)]
# demand and play that change every day: quieter and busier days, short and long evenings of games, one free day
CHANGING = [Day(400, 3, 5), Day(300, 1, 4), Day(520, 4, 6), Day(330, 2, 5), Day(450, 0, 3), Day(360, 5, 6),
            Day(470, 2, 4), Day(290, 3, 7), Day(420, 1, 5)]


def state_at(day: Day, seconds: float) -> tuple[NodeState, float]:
    """The node's state and served tokens/s at `seconds` into the day."""
    hour = seconds / 3600
    if 19 <= hour < 19 + day.game_hours:
        return NodeState.PAUSED, 0.0
    if 2 <= hour < 2 + day.quiet_hours:
        return NodeState.SERVING, 0.0
    # a daily rhythm around the day's demand: busier in the afternoon
    return NodeState.SERVING, day.demand * (0.8 + 0.4 * (12 <= hour < 18))


@dataclass
class Week:
    forecasts: list[Forecast]
    paid_wei: list[float]  # what each forecast day then paid, net of the fee


def simulate(devnet: Devnet, clock: ManualClock, home: Path, days: list[Day]) -> Week:
    assert devnet.info is not None
    ledger = Ledger(home / "ledger.sqlite3", clock=clock)
    recorder = ServedWorkRecorder(ledger, period_s=600.0)
    duty = DutyCycle(home / "duty-cycle.json", save_every_s=3600.0)
    signer = KeySigner()
    client = CoordinatorClient(devnet.info.coordinator_url)
    client.bind_node(signer, PEER, devnet_terms(devnet.info), now=clock.wall())
    service = ClaimService(signer, client, ledger, ChainReader(devnet.info.rpc_url), clock=clock,
                           networks=devnet_networks(devnet.info))
    counter, reported = 0, 0
    forecasts: list[Forecast] = []
    for index, day in enumerate(days):
        start = clock.wall()
        if index >= 1:  # each morning: claim yesterday's earnings (paid on chain, confirmed), then forecast today
            record = service.follow(service.start(service.quote()), timeout_s=30)
            assert record.state is ClaimState.CONFIRMED, record.reason
            if index >= HISTORY_DAYS:
                forecasts.append(make_forecast(ledger, duty, clock.wall()))
        if index == 0:  # the app started at midnight: the first day is recorded from its start
            first = NodeStatus(name="gpu0", state=NodeState.SERVING, reason="", peer_id=PEER, served_tokens=0,
                               start_block=0, end_block=BLOCKS)
            recorder.observe(first, start)
            duty.observe(start, [first])
        carry = 0.0
        while clock.wall() < start + DAY_S:
            state, rate = state_at(day, clock.wall() - start)
            carry += rate * TICK_S * BLOCKS
            grown = int(carry) - int(carry) % BLOCKS
            carry -= grown
            counter += grown
            clock.advance(TICK_S)
            status = NodeStatus(name="gpu0", state=state, reason="", peer_id=PEER, served_tokens=counter,
                                start_block=0, end_block=BLOCKS)
            recorder.observe(status, clock.wall())
            duty.observe(clock.wall(), [status], gaming=state is NodeState.PAUSED)  # the evening's game
            if (clock.wall() - start) % 3600 == 3540 and counter > reported:  # the gateway reports each hour
                tokens = (counter - reported) // BLOCKS
                span = {"peer_id": PEER, "start_block": 0, "end_block": BLOCKS, "tokens": tokens}
                assert report_usage(devnet.info, [span], request_id=uuid.uuid4().hex)[0] == 200
                reported += tokens * BLOCKS
        assert clock.wall() == start + DAY_S
    record = service.follow(service.start(service.quote()), timeout_s=30)  # the last day's pay
    assert record.state is ClaimState.CONFIRMED, record.reason
    settled = settled_by_day(ledger, 0.0)
    first = day_start(day_of(clock.wall())) - len(days) * DAY_S
    paid = [settled[day_of(first + d * DAY_S)][0] for d in range(HISTORY_DAYS, len(days))]
    ledger.close()
    return Week(forecasts, paid)


@pytest.fixture
def week_devnet() -> Iterator[tuple[Devnet, ManualClock]]:
    # the simulation starts at a midnight after today's: the chain's blocks carry real time, so every deadline the
    # simulated clock signs lies ahead of them
    clock = ManualClock(wall_start=day_start(day_of(time.time())) + DAY_S)
    net = Devnet(Rules(rate_per_block_token=RATE, min_claim=DEVNET_MIN_CLAIM, fee=DEVNET_FEE, settle_seconds=0),
                 clock=clock.wall)
    net.start()
    yield net, clock
    net.stop()


def test_with_steady_demand_each_forecast_is_within_10_percent_of_what_the_day_paid(
        week_devnet: tuple[Devnet, ManualClock], tmp_path: Path) -> None:
    devnet, clock = week_devnet
    week = simulate(devnet, clock, tmp_path, STEADY)
    assert len(week.forecasts) == 7 and all(f.ready for f in week.forecasts)
    errors = [abs(f.mid_wei - paid) / paid for f, paid in zip(week.forecasts, week.paid_wei, strict=True)]
    print("steady demand, forecast error per day:", [f"{e:.1%}" for e in errors])
    assert max(errors) < 0.10
    # the basis says what it stands on: the settled rate per token and the measured duty cycle
    last = week.forecasts[-1]
    assert last.wei_per_token == pytest.approx(RATE, rel=0.01)  # per served token, net of the fee
    assert last.duty.gaming == pytest.approx(3 / 24, abs=0.01)  # the evening's game
    assert last.duty.idle == pytest.approx(5 / 24, abs=0.01)  # the night without requests
    assert last.basis.startswith("based on 7 days: 1 FAR per million tokens served, ")
    assert "serving 67 % of the time (idle without requests 21 %, paused for games 12 %)" in last.basis


def test_with_changing_demand_the_range_holds_what_the_day_paid_on_6_of_7_days(
        week_devnet: tuple[Devnet, ManualClock], tmp_path: Path) -> None:
    devnet, clock = week_devnet
    week = simulate(devnet, clock, tmp_path, CHANGING)
    inside = [f.low_wei <= paid <= f.high_wei for f, paid in zip(week.forecasts, week.paid_wei, strict=True)]
    print("changing demand:", [(f"{f.low_wei / 1e18:.2f}-{f.high_wei / 1e18:.2f}", f"{paid / 1e18:.2f}")
                               for f, paid in zip(week.forecasts, week.paid_wei, strict=True)])
    assert sum(inside) >= 6, inside
