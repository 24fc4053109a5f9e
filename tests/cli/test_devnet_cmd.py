"""`farnode devnet` as a real foreground process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from farnode_desktop.core.earnings.network import installation_networks
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
        # the provider's own command pins this run's fresh token for this installation (never the coordinator)
        pinned = installation_networks(AppPaths.default()).require(info["chain_id"])
        assert pinned.token == pinned.payout_contract == info["token_address"]
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err and proc.returncode in (0, 130)
