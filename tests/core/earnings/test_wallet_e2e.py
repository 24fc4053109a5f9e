"""End to end: gateway usage credits a node bound to the keyring wallet, the claim is signed from the
keyring, the token transfer is confirmed on chain, the ledger keeps the receipt, and no file the app wrote
holds the key or the recovery phrase."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.earnings.claims import ClaimService
from farnode_desktop.core.earnings.coordinator import CoordinatorClient
from farnode_desktop.core.earnings.ledger import ClaimState, Ledger
from farnode_desktop.core.earnings.network import pin_local_devnet
from farnode_desktop.core.earnings.payouts import ChainReader
from farnode_desktop.core.earnings.wallet import KEY_ENTRY, Wallet
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.devnet import Devnet
from tests.core.earnings.test_wallet import PHRASE, PHRASE_ADDRESS, PHRASE_KEY
from tests.devnet.helpers import DEVNET_FEE as FEE
from tests.devnet.helpers import DEVNET_RATE as RATE
from tests.devnet.helpers import clean_stderr, devnet_terms, keyring_session, report_usage, secret_service

pytestmark = pytest.mark.keyring
PEER = "12D3KooWEndToEndNode"



def _secret_forms() -> list[bytes]:
    forms = [PHRASE_KEY, PHRASE_KEY[2:], PHRASE_KEY.upper()[2:], PHRASE, " ".join(PHRASE.split()[:6])]
    return [f.encode() for f in forms] + [bytes.fromhex(PHRASE_KEY[2:])]


def assert_no_secret_under(root: Path) -> int:
    """No file under `root`, read as bytes, holds any form of the key or phrase. Returns the file count."""
    files = [p for p in root.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        for form in _secret_forms():
            assert form not in data and form.lower() not in data.lower(), f"{path} contains a secret"
    return len(files)


def test_served_work_to_confirmed_payout_signed_from_the_keyring(devnet: Devnet, farnode_home: Path) -> None:
    assert devnet.info is not None
    backend = secret_service()
    service_name = f"FarNode e2e {uuid.uuid4().hex}"
    wallet = Wallet(backend, service=service_name)
    try:
        address = wallet.import_mnemonic(PHRASE)
        pin_local_devnet(AppPaths.default(), devnet.info.pinned_network())  # as the demo pins its devnet
        client = CoordinatorClient(devnet.info.coordinator_url)
        client.bind_node(wallet, PEER, devnet_terms(devnet.info))
        paths = AppPaths.default().ensure()
        ledger = Ledger(paths.ledger_file)
        start = time.time()
        for i in range(3):  # three inference requests through the node: blocks 0-8, 100 tokens each
            status, _ = report_usage(
                devnet.info,
                [{"peer_id": PEER, "start_block": 0, "end_block": 8, "tokens": 100}],
                request_id=f"req-{i}",
            )
            assert status == 200
        ledger.record_served_work(
            "gpu0", PEER, period_start=start - 1, period_end=time.time() + 1, tokens=300, blocks=8
        )
        earnings = client.earnings(address)
        assert earnings.claimable == 3 * 8 * 100 * RATE and earnings.nodes[0].served_tokens == 300

        service = ClaimService(wallet, client, ledger, ChainReader(devnet.info.rpc_url))  # the installation's pins
        record = service.follow(service.start(service.quote()), timeout_s=30)

        assert record.state is ClaimState.CONFIRMED, record.reason
        net = 3 * 8 * 100 * RATE - FEE
        assert ChainReader(devnet.info.rpc_url).token_balance(devnet.info.token_address, address) == net
        ledger.close()
        reopened = Ledger(paths.ledger_file)
        payout = reopened.payout(record.id)
        assert payout is not None and payout.value == net and payout.tx_hash == record.tx_hash
        assert payout.receipt["transactionHash"] == record.tx_hash and payout.receipt["status"] == 1
        credits = reopened.claim_credits(record.id)
        assert sorted(c["request_id"] for c in credits) == ["req-0", "req-1", "req-2"]
        assert {c["node"] for c in credits} == {"gpu0"}
        assert assert_no_secret_under(farnode_home) >= 1
    finally:
        for entry in (KEY_ENTRY, "address"):
            with contextlib.suppress(Exception):
                backend.delete_password(service_name, entry)


def test_the_cli_claims_end_to_end_and_writes_no_secret(devnet: Devnet, farnode_home: Path) -> None:
    assert devnet.info is not None
    paths = AppPaths.default().ensure()
    SettingsStore(paths.config_file).save(
        Settings(coordinator_url=devnet.info.coordinator_url, chain_rpc_url=devnet.info.rpc_url)
    )
    pin_local_devnet(paths, devnet.info.pinned_network())
    report_usage(devnet.info, [{"peer_id": PEER, "start_block": 2, "end_block": 6, "tokens": 500}])
    script = """
    printf '%s\\n' "$PHRASE" | $FARNODE wallet import || exit 10
    $FARNODE wallet bind "$PEER" || exit 11
    $FARNODE earnings --json > "$FARNODE_HOME/earnings.json" || exit 12
    $FARNODE earnings || exit 13
    $FARNODE claim --yes || exit 14
    $FARNODE earnings || exit 15
    """
    result = keyring_session(script, {"FARNODE_HOME": str(farnode_home), "PHRASE": PHRASE, "PEER": PEER})
    err = clean_stderr(result.stderr)
    assert result.returncode == 0, result.stdout + err
    body: dict[str, Any] = json.loads((farnode_home / "earnings.json").read_text())
    assert body["claimable"] == str(4 * 500 * RATE) and body["wallet"] == PHRASE_ADDRESS
    assert "Minimum claim: 0.001 FAR; fee: 0.00001 FAR" in result.stdout
    assert "Paid and confirmed on chain: 0.00199 FAR" in result.stdout
    assert devnet.chain.balance_of(PHRASE_ADDRESS) == 4 * 500 * RATE - FEE
    [claim] = Ledger(paths.ledger_file).claims(PHRASE_ADDRESS)
    assert claim.state is ClaimState.CONFIRMED
    for form in _secret_forms():
        assert form.decode(errors="ignore") not in result.stdout + result.stderr
    assert assert_no_secret_under(farnode_home) >= 3  # settings, ledger, earnings.json at least


def test_the_secret_scan_finds_a_planted_key(tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text(f"debug: key={PHRASE_KEY[2:].upper()}\n")
    with pytest.raises(AssertionError, match="contains a secret"):
        assert_no_secret_under(tmp_path)
