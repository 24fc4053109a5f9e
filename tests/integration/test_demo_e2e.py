"""End to end on the real stack: a tiny-model node serves gateway traffic, earnings appear, a claim signed with the
keyring key is paid, the token transfer is confirmed on chain, the ledger keeps it, and nothing is left running."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import psutil
import pytest

from farnode_desktop.core.earnings.ledger import ClaimState, Ledger
from farnode_desktop.core.earnings.wallet import KEY_ENTRY
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.node.supervisor import SupervisorPolicy
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.devnet.demo import DEMO_WALLET_SERVICE, DemoNetwork
from tests.devnet.helpers import secret_service

pytestmark = [pytest.mark.runtime, pytest.mark.keyring, pytest.mark.slow]
REQUESTS = 12  # 12 x 23 tokens x 4 blocks at the devnet rate passes the minimum claim


def farnode_processes(root: Path) -> list[psutil.Process]:
    """Every process whose command line mentions this test's FarNode folders or the mesh modules."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if proc.pid != os.getpid() and (str(root) in cmd):
            found.append(proc)
    return found


def test_served_work_is_paid_on_chain_and_nothing_is_left_running(tmp_path: Path, runtime: NodeRuntime) -> None:
    backend = secret_service()
    paths = AppPaths.under(tmp_path / "demo-home")
    demo = DemoNetwork(paths, runtime, keyring=backend, gateway_interval_s=0.2, gateway_requests=REQUESTS,
                       policy=SupervisorPolicy(watchdog_interval_s=1, stop_grace_s=15))
    try:
        core = demo.start()
        node = core.node_statuses()[0]
        assert node.state is NodeState.SERVING and node.peer_id
        # the demo's update repository on loopback: the check at start verified and installed its signed manifest,
        # so the payout below is signed and confirmed against the verified manifest's token and contract
        assert core.updates.last is not None and core.updates.last.ok, core.updates.last
        assert "network/manifest.json" in core.updates.last.installed
        deadline = time.monotonic() + 240
        while demo.gateway_running() and time.monotonic() < deadline:
            core.tick()
            time.sleep(0.2)
        assert demo.stats.requests == REQUESTS and demo.stats.reported == REQUESTS, demo.stats
        # let the supervisor read the final counters and the ledger close a served-work period
        end = time.monotonic() + 8
        while time.monotonic() < end:
            core.tick()
            time.sleep(0.2)

        served = core.node_statuses()[0].served_tokens
        earnings = core.earnings()
        assert earnings is not None
        (credited,) = earnings.nodes
        assert credited.peer_id == node.peer_id
        # what the gateway reported per span times the node's 4 blocks == what the node itself counted
        assert credited.served_tokens * 4 == served > 0
        assert earnings.claimable == earnings.confirmed > 0

        record = demo.claim(timeout_s=60)
        assert record is not None and record.state is ClaimState.CONFIRMED, record
        assert record.tx_hash and record.tx_hash.startswith("0x")
        address = core.wallet_address()
        assert address is not None
        after = core.earnings()
        assert after is not None and after.paid == earnings.claimable and after.claimable == 0

        ledger = Ledger(paths.ledger_file)
        payout = ledger.payout(record.id)
        assert payout is not None and payout.receipt["status"] == 1
        assert payout.recipient.lower() == address.lower() and payout.value == record.net_amount
        credits = ledger.claim_credits(record.id)
        assert len(credits) == REQUESTS
        assert {c["node"] for c in credits} == {"cpu"}, "each paid credit links to the node's served work"
        ledger.close()
    finally:
        demo.stop()
        with contextlib.suppress(Exception):
            backend.delete_password(DEMO_WALLET_SERVICE, KEY_ENTRY)
            backend.delete_password(DEMO_WALLET_SERVICE, "address")
    time.sleep(0.5)
    assert farnode_processes(tmp_path) == [], "the demo left processes behind"
