"""`farnode earnings` and `farnode claim`: what the node earned, and claiming it to the wallet with an
on-chain check of the payout."""

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from farnode_desktop import __version__
from farnode_desktop.cli.stores import claim_factory, open_ledger, open_wallet
from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.earnings.claims import ClaimQuote, ClaimService
from farnode_desktop.core.earnings.coordinator import CoordinatorUnreachable
from farnode_desktop.core.earnings.coordinator_models import Earnings, format_tokens, safe_text
from farnode_desktop.core.earnings.ledger import ClaimRecord, ClaimState, Ledger
from farnode_desktop.core.earnings.network import PinnedNetworks
from farnode_desktop.core.earnings.outlook import EarningsOutlook, Outlook
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import SettingsStore


def _claim_json(c: ClaimRecord, ledger: Ledger) -> dict[str, Any]:
    payout = ledger.payout(c.id)
    return {
        "id": c.id, "state": c.state.value, "reason": safe_text(c.reason, 500), "amount": str(c.amount), "fee": str(c.fee),
        "net_amount": str(c.net_amount), "claim_id": c.claim_id, "tx_hash": c.tx_hash,
        "block_number": payout.block_number if payout else None, "created_at": c.created_at,
        "credits": len(ledger.claim_credits(c.id)),
    }


def outlook_of(ledger: Ledger) -> EarningsOutlook:
    """The forecast and the GPUs' electricity from this PC's ledger and records (what the dashboard shows)."""
    paths = AppPaths.default()
    settings = SettingsStore(paths.config_file).load()
    return Outlook(paths, ledger, SystemClock(), lambda: settings.electricity_price_per_kwh).current()


def _outlook_json(outlook: EarningsOutlook) -> dict[str, Any]:
    f, e = outlook.forecast, outlook.electricity
    return {
        "forecast": {"ready": f.ready, "basis": f.basis, "low_wei": str(round(f.low_wei)), "mid_wei": str(round(f.mid_wei)),
                     "high_wei": str(round(f.high_wei)), "wei_per_token": f.wei_per_token,
                     "tokens_per_day": f.tokens_per_day, "days": len(f.days),
                     "duty": {"serving": f.duty.serving, "idle": f.duty.idle, "gaming": f.duty.gaming,
                              "paused": f.duty.paused, "stopped": f.duty.stopped}},
        "electricity": {"today_kwh": e.today_kwh, "kwh_per_day": e.kwh_per_day, "days": e.days,
                        "price_per_kwh": e.price_per_kwh, "cost_per_day": e.cost_per_day},
    }


def _network_lines(networks: PinnedNetworks, chain_id: int | None) -> list[str]:
    """The network's share of a payout (from the signed manifest) and, if this FarNode is too old, the warning."""
    network = networks.preferred(chain_id)
    if network is None:
        return []
    lines = [f"Network fee: {network.fee_text} on {network.name} (signed network manifest)"] if network.fee_text else []
    return lines + [f"Warning: {why}" for why in networks.too_old(__version__, network.chain_id)]


def cmd_earnings(args: argparse.Namespace) -> int:
    factory = claim_factory()
    network_lines = _network_lines(factory.networks, factory.settings.chain_id)
    address = open_wallet().address()
    ledger = open_ledger()
    offline = ""
    try:
        earnings = factory.client().earnings(address, days=args.days)
        body = earnings.as_json()
        ledger.record_earnings(earnings)
    except CoordinatorUnreachable as exc:
        last = ledger.latest_earnings(address)
        if last is None:
            raise
        offline = f"{exc} - showing the last known figures from {time.ctime(last[0])}"
        body = Earnings.parse(last[1]).as_json()  # checked like a fresh reply before it is printed
    claims = [_claim_json(c, ledger) for c in ledger.claims(address)]
    work = ledger.served_work()
    outlook = outlook_of(ledger)
    if args.json:
        network = factory.networks.preferred(factory.settings.chain_id)
        print(json.dumps({**body, "offline": offline or None, "claims": claims,
                          "network_fee_bps": network.fee_bps if network else None,
                          "update_warnings": factory.networks.too_old(__version__, network.chain_id) if network else [],
                          "served_tokens_recorded": sum(w.tokens for w in work), **_outlook_json(outlook)}, indent=2))
        return 0
    sym, dec = str(body["symbol"]), int(body["decimals"])

    def fmt(key: str) -> str:
        return format_tokens(int(body[key]), dec, sym)

    if offline:
        print(f"(offline) {offline}")
    print(f"Wallet {address}")
    print(f"  estimated (settling): {fmt('estimated')}")
    print(f"  confirmed (all time): {fmt('confirmed')}")
    print(f"  claimable now:        {fmt('claimable')}")
    print(f"  claimed, being paid:  {fmt('pending')}")
    print(f"  paid:                 {fmt('paid')}")
    print(f"  minimum claim {fmt('min_claim')}, fee per claim {fmt('fee')}")
    for line in network_lines:
        print(f"  {line}")
    print(f"  expected: {outlook.forecast.range_text} ({outlook.forecast.basis})")
    print(f"  electricity: {outlook.electricity.text}")
    for n in body["nodes"]:
        print(f"  node {n['peer_id']}: {n['served_tokens']} served tokens in {n['requests']} requests,"
              f" {format_tokens(int(n['confirmed']), dec, sym)} confirmed")
    for d in body["history"][-7:]:
        print(f"  {d['day']}: {format_tokens(int(d['earned']), dec, sym)} ({d['served_tokens']} tokens)")
    for c in claims[-5:]:
        tx = f", tx {c['tx_hash']}" if c["tx_hash"] else ""
        why = f" ({c['reason']})" if c["reason"] else ""
        print(f"  claim {c['id'][:8]} {c['state']}: {format_tokens(int(c['net_amount']), dec, sym)}{tx}{why}")
    return 0


def _describe(record: ClaimRecord, ledger: Ledger) -> str:
    net = format_tokens(record.net_amount)
    if record.state is ClaimState.CONFIRMED:
        payout = ledger.payout(record.id)
        block = payout.block_number if payout else "?"
        return (f"Paid and confirmed on chain: {net} to {record.wallet} in transaction {record.tx_hash}"
                f" (block {block}); it covers {len(ledger.claim_credits(record.id))} credited requests")
    if record.state in (ClaimState.REJECTED, ClaimState.FAILED):
        return f"Claim {record.state.value}: {safe_text(record.reason, 500)}"
    return f"Claim {record.state.value}: FarNode keeps following it (run `farnode claim` again to resume)"


def cmd_claim(args: argparse.Namespace) -> int:
    wallet = open_wallet()
    ledger = open_ledger()
    factory = claim_factory()
    service: ClaimService = factory.claim_service(wallet, ledger)
    unfinished = False
    for record, error in service.resume_all():
        print(f"Resumed an earlier claim. {_describe(record, ledger)}")
        if error is not None:
            print(f"  still waiting: {error}")
        unfinished = unfinished or not record.finished
    if unfinished:
        raise FarNodeError("an earlier claim is not finished yet, so no new claim was made",
                           hint="run `farnode claim` again later; nothing is lost")
    quote: ClaimQuote = service.quote(args.amount)
    print(f"Claimable: {format_tokens(quote.earnings.claimable)}")
    print(f"Minimum claim: {format_tokens(quote.earnings.min_claim)}; fee: {format_tokens(quote.fee)}")
    for line in _network_lines(factory.networks, quote.network.chain_id):
        print(line)
    if not quote.can_claim:
        print(f"No claim was made: {quote.problem}")
        return 1
    print(f"Claim {format_tokens(quote.amount)}: you receive {format_tokens(quote.net_amount)} after the fee,"
          f" on chain {quote.network.chain_id}, to {wallet.address()}")
    if not args.yes:
        print("Sign and submit this claim? [y/N]", end=" ", flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("No claim was made.")
            return 1
    fresh = service.quote(args.amount)  # asked again right before signing: what was shown is what is sent
    if not fresh.can_claim or _sent(fresh) != _sent(quote):
        print("The figures changed since they were shown, so nothing was signed"
              + (f": {fresh.problem}" if fresh.problem else f"; the claim would now be {format_tokens(fresh.amount)}")
              + ". Run `farnode claim` again to see them.")
        return 1
    record = service.start(fresh)
    record = service.follow(record, timeout_s=args.wait)
    print(_describe(record, ledger))
    return 0 if record.state is ClaimState.CONFIRMED else 1


def _sent(quote: ClaimQuote) -> tuple[int, int, int]:
    return quote.amount, quote.fee, quote.net_amount


def far_amount(text: str) -> int:
    """`--amount 0.5` in FAR -> the token's smallest units (FAR has 18 decimals); a plain error otherwise."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount of FAR (for example 0.5)") from None
    units = value * 10**18
    if not value.is_finite() or value <= 0 or units != units.to_integral_value():
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount of FAR above 0 with at most 18 decimals")
    return int(units)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("earnings", help="estimated, confirmed, claimable and paid earnings")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (amounts as whole numbers of FAR's smallest unit, 10^-18 FAR)")
    p.add_argument("--days", type=int, default=30, help="days of history")
    p.set_defaults(handler=cmd_earnings)

    p = subparsers.add_parser("claim", help="claim the claimable earnings to the wallet")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--amount", type=far_amount, default=None, metavar="FAR",
                   help="how much to claim, in FAR (default: all that is claimable)")
    p.add_argument("--wait", type=float, default=60.0, help="seconds to follow the payout")
    p.set_defaults(handler=cmd_claim)
