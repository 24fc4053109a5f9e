"""`farnode devnet` as a real foreground process, and `farnode earnings` when the coordinator is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from farnode_desktop.core.earnings.coordinator_models import Earnings
from farnode_desktop.core.earnings.ledger import Ledger
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import SettingsStore


def test_farnode_devnet_serves_on_loopback_and_writes_settings(farnode_home: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "farnode_desktop",
            "devnet",
            "--json",
            "--write-settings",
            "--settle-seconds",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["coordinator_url"].startswith("http://127.0.0.1:") and info["rpc_url"].startswith(
            "http://127.0.0.1:"
        )
        with urllib.request.urlopen(info["coordinator_url"] + "/v1/network", timeout=10) as resp:
            network = json.loads(resp.read())
        assert network["chain_id"] == info["chain_id"] and network["token"] == info["token_address"]
        settings = SettingsStore(AppPaths.default().config_file).load()
        assert (settings.coordinator_url, settings.chain_rpc_url) == (
            info["coordinator_url"],
            info["rpc_url"],
        )
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err and proc.returncode in (0, 130)


def test_earnings_offline_show_the_last_known_figures(farnode_home: Path) -> None:
    from tests.core.earnings.test_coordinator import GOOD_EARNINGS, WALLET
    from tests.devnet.helpers import clean_stderr, keyring_session

    paths = AppPaths.default().ensure()
    Ledger(paths.ledger_file).record_earnings(Earnings.parse(GOOD_EARNINGS))
    store = SettingsStore(paths.config_file)
    settings = store.load()
    settings.coordinator_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    store.save(settings)
    key = "0x" + "ab" * 32
    from eth_account import Account

    assert Account.from_key(key).address != WALLET
    script = """
    printf '%s\\n' "$KEY" | $FARNODE wallet import >/dev/null || exit 10
    $FARNODE earnings
    """
    result = keyring_session(script, {"FARNODE_HOME": str(farnode_home), "KEY": key})
    # The snapshot belongs to another wallet, so there is nothing offline to show: a plain error.
    assert result.returncode == 1 and "could not be reached" in clean_stderr(result.stderr)
    Ledger(paths.ledger_file).record_earnings(
        Earnings.parse({**GOOD_EARNINGS, "wallet": Account.from_key(key).address})
    )
    result = keyring_session(script, {"FARNODE_HOME": str(farnode_home), "KEY": key})
    assert result.returncode == 0, clean_stderr(result.stderr)
    assert "(offline)" in result.stdout and "claimable now:" in result.stdout
