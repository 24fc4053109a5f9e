"""The manifest's fee and minimum app version where a provider meets them on the command line: `farnode earnings`
shows the network's share and warns an older FarNode, `farnode update status` warns too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from farnode_desktop import __version__
from farnode_desktop.cli import main
from farnode_desktop.core.earnings.network import FORMAT, verified_manifest_path
from farnode_desktop.core.paths import AppPaths

TOKEN = "0x" + "ab" * 20
WARNING = (f"this FarNode is version {__version__}, older than version 99.0 that Far (chain 7) asks for: update "
           "FarNode to keep claiming")


def _verified_manifest(paths: AppPaths) -> None:
    """What the update channel installs once a signed manifest verified (core/updates/client.py writes it there)."""
    path = verified_manifest_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"chain_id": 7, "name": "Far", "rpc_url": "https://rpc.example", "coordinator_url": "http://127.0.0.1:9",
             "token": TOKEN, "payout_contract": TOKEN, "local": False, "fees": {"payout_bps": 150},
             "min_app_version": "99.0"}
    path.write_text(json.dumps({"format": FORMAT, "version": 1, "networks": [entry]}), encoding="utf-8")


def test_update_status_warns_an_older_farnode(farnode_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = AppPaths.default().ensure()
    assert main(["update", "status"]) == 0
    assert "warning:" not in capsys.readouterr().out  # the shipped manifest asks for 0.1.0: this FarNode may claim
    _verified_manifest(paths)
    assert main(["update", "status"]) == 0
    assert f"warning: {WARNING}" in capsys.readouterr().out
    assert main(["update", "status", "--json"]) == 0
    [network] = json.loads(capsys.readouterr().out)["manifest"]["networks"]
    assert network == {"chain_id": 7, "name": "Far", "fee_bps": 150, "min_app_version": "99.0", "too_old": WARNING}


def test_earnings_show_the_network_fee_and_the_update_warning(farnode_home: Path) -> None:
    from eth_account import Account

    from farnode_desktop.core.earnings.coordinator_models import Earnings
    from farnode_desktop.core.earnings.ledger import Ledger
    from tests.core.earnings.test_coordinator import GOOD_EARNINGS
    from tests.devnet.helpers import clean_stderr, keyring_session

    paths = AppPaths.default().ensure()
    _verified_manifest(paths)  # its coordinator (the discard port) is gone: the last known figures are shown
    key = "0x" + "cd" * 32
    Ledger(paths.ledger_file).record_earnings(Earnings.parse({**GOOD_EARNINGS,
                                                              "wallet": Account.from_key(key).address}))
    script = """
    printf '%s\\n' "$KEY" | $FARNODE wallet import >/dev/null || exit 10
    $FARNODE earnings
    """
    result = keyring_session(script, {"FARNODE_HOME": str(farnode_home), "KEY": key})
    assert result.returncode == 0, clean_stderr(result.stderr)
    assert "  Network fee: 1.5 % of each payout on Far (signed network manifest)" in result.stdout
    assert f"  Warning: {WARNING}" in result.stdout
