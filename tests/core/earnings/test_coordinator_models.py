"""The coordinator's replies parsed strictly: a good reply round-trips, every wrong field is named (nested ones with
their path), network text is escaped and cut, JSON constants are refused, amounts are formatted for people."""

from __future__ import annotations

import re
from typing import Any

import pytest

from farnode_desktop.core.earnings.coordinator_models import (
    MAX_WEI,
    Binding,
    ClaimStatus,
    CoordinatorBadResponse,
    Earnings,
    NetworkInfo,
    format_tokens,
    load_json,
    safe_text,
)

WALLET = "0x88782009F6435E58A3050D42DdE091252d26bbD1"
NODE = {"peer_id": "12D3KooWPeer", "bound_at": 1.5, "served_tokens": 7, "requests": 2, "estimated": "3",
        "confirmed": "4"}
EARNINGS: dict[str, Any] = {
    "wallet": WALLET, "symbol": "FAR", "decimals": 18, "estimated": "1", "confirmed": "10", "claimable": "10",
    "pending": "0", "paid": "0", "min_claim": "1", "fee": "1", "next_nonce": 0, "as_of": 1.5, "nodes": [NODE],
    "history": [{"day": "2026-11-22", "earned": "5", "served_tokens": 7, "requests": 2}],
}
CLAIM: dict[str, Any] = {
    "claim_id": "0x" + "ab" * 32, "wallet": WALLET, "amount": "100", "fee": "1", "net_amount": "99", "nonce": 0,
    "state": "paid", "reason": "", "tx_hash": "0x" + "cd" * 32,
    "credits": [{"credit_id": "c1", "request_id": "r1", "peer_id": "12D3KooWPeer", "start_block": 0, "end_block": 4,
                 "tokens": 7, "amount": "100", "credited_at": 2.0}],
}


def test_earnings_round_trip_through_their_own_json() -> None:
    earnings = Earnings.parse(EARNINGS)
    assert earnings.nodes[0].peer_id == "12D3KooWPeer" and earnings.history[0].earned == 5
    assert Earnings.parse(earnings.as_json()) == earnings
    assert Earnings.parse({**EARNINGS, "claimable": str(MAX_WEI)}).claimable == MAX_WEI


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        ({"wallet": "0x123"}, "wallet"),
        ({"decimals": 37}, "decimals"),
        ({"next_nonce": True}, "next_nonce"),
        ({"confirmed": 10}, "confirmed"),  # amounts travel as decimal strings
        ({"claimable": str(MAX_WEI + 1)}, "claimable"),
        ({"fee": "-1"}, "fee"),
        ({"as_of": float("nan")}, "as_of"),
        ({"nodes": [{**NODE, "confirmed": "x"}]}, "nodes[0].confirmed"),
        ({"nodes": [NODE, {**NODE, "bound_at": -1}]}, "nodes[1].bound_at"),
        ({"nodes": [5]}, "nodes[0]"),
        ({"history": "none"}, "history"),
    ],
)
def test_a_wrong_field_is_named_with_its_path(change: dict[str, Any], field_name: str) -> None:
    named = re.escape(f"earnings reply has a bad or missing '{field_name}'")
    with pytest.raises(CoordinatorBadResponse, match=named) as err:
        Earnings.parse({**EARNINGS, **change})
    assert "coordinator" in err.value.hint


def test_a_missing_field_and_a_body_that_is_no_object_are_named() -> None:
    with pytest.raises(CoordinatorBadResponse, match="'pending'"):
        Earnings.parse({k: v for k, v in EARNINGS.items() if k != "pending"})
    with pytest.raises(CoordinatorBadResponse, match=r"'\(body\)' \(expected a JSON object\)"):
        Earnings.parse([EARNINGS])
    with pytest.raises(CoordinatorBadResponse, match="bind reply has a bad or missing 'bound_at'"):
        Binding.parse({"peer_id": "p", "wallet": WALLET})


def test_a_claim_must_be_consistent_not_only_well_typed() -> None:
    claim = ClaimStatus.parse(CLAIM)
    assert (claim.state, claim.net_amount, claim.credits[0].end_block) == ("paid", 99, 4)
    for change, field_name in [({"state": "maybe"}, "state"), ({"tx_hash": None}, "tx_hash"),
                               ({"net_amount": "100"}, "net_amount"), ({"claim_id": "1"}, "claim_id")]:
        with pytest.raises(CoordinatorBadResponse, match=f"'{field_name}'"):
            ClaimStatus.parse({**CLAIM, **change})
    accepted = ClaimStatus.parse({**CLAIM, "state": "accepted", "tx_hash": None, "reason": "\x1b[2J" + "w" * 400})
    assert accepted.tx_hash == "" and accepted.reason.startswith("\\x1b[2J") and "more characters" in accepted.reason


def test_network_rules_have_ranges() -> None:
    network = {"chain_id": 7, "token": WALLET, "verifying_contract": WALLET, "min_claim": "1", "fee": "1",
               "rate_per_block_token": "1", "settle_seconds": 0, "claim_deadline_seconds": 3600, "rpc_url": None}
    assert NetworkInfo.parse(network).rpc_url == ""
    for change, field_name in [({"chain_id": 0}, "chain_id"), ({"claim_deadline_seconds": 59}, "claim_deadline_seconds"),
                               ({"claim_deadline_seconds": 86401}, "claim_deadline_seconds"),
                               ({"rpc_url": "x" * 2049}, "rpc_url")]:
        with pytest.raises(CoordinatorBadResponse, match=f"network reply has a bad or missing '{field_name}'"):
            NetworkInfo.parse({**network, **change})


def test_network_text_is_escaped_and_cut() -> None:
    assert safe_text("ok\n\x1b[31m\u202eevil") == "ok\\x0a\\x1b[31m\\u202eevil"
    assert safe_text("a" * 10, limit=4) == "aaaa... (6 more characters)"


def test_json_from_the_network_is_strict() -> None:
    assert load_json(b'{"a": [1, 2.5]}') == {"a": [1, 2.5]}
    for raw in (b'{"a": NaN}', b"[Infinity]", b"\xff", b"[" * 100_000 + b"]" * 100_000):
        with pytest.raises(ValueError):
            load_json(raw)


@pytest.mark.parametrize(
    ("wei", "text"),
    [(0, "0 FAR"), (1234500000000000000, "1.2345 FAR"), (10**24, "1,000,000 FAR"), (1, "<0.000001 FAR"),
     (1_999_999_999_999_999_999, "1.999999 FAR")],
)
def test_amounts_are_written_for_people(wei: int, text: str) -> None:
    assert format_tokens(wei) == text
