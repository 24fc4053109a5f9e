"""`farnode --self-test` from source: real Qt offscreen, a real Secret Service, NVML without a driver."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.installer.conftest import ROOT, run_with_secret_service

WALLET_SERVICE = "FarNode Desktop wallet"


def _selftest_cmd(report: Path, *extra: str) -> str:
    return shlex.join([sys.executable, "-m", "farnode_desktop", "--self-test", "--report", str(report), *extra])


@pytest.mark.keyring
def test_self_test_passes_and_never_touches_the_wallet_entry(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    keyring_py = shlex.join([sys.executable, "-c",
                             "import keyring, sys; k = keyring.get_keyring(); "
                             "print(k.get_password(sys.argv[1], 'wallet')) if sys.argv[2] == 'get' "
                             "else k.set_password(sys.argv[1], 'wallet', 'the-wallet-key')"])
    script = (f"{keyring_py} {shlex.quote(WALLET_SERVICE)} set && {_selftest_cmd(report)} >/dev/null && "
              f"{keyring_py} {shlex.quote(WALLET_SERVICE)} get")
    result = run_with_secret_service(script, tmp_path, {"FARNODE_HOME": str(tmp_path / "farnode")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "the-wallet-key"  # the wallet entry is still there, unchanged
    body = json.loads(report.read_text())
    assert body["ok"] is True and body["failed"] == []
    checks = body["checks"]
    assert checks["keyring"]["state"] == "round-trip ok"
    assert checks["keyring"]["backend"] == "keyring.backends.SecretService.Keyring"
    assert checks["qt"]["platform"] == "offscreen" and checks["qt"]["icon_pixel"] != "#000000"
    assert checks["nvml"]["ok"] is True and checks["nvml"]["state"] in ("no_driver", "driver_not_loaded", "ok")
    assert checks["runtime"]["state"] == "not installed"  # a reported state, not a failure
    assert Path(checks["runtime"]["mesh_sources"]) == ROOT / "build" / "mesh_src"  # the node code alone
    assert checks["devnet"]["state"] == "ok" and checks["devnet"]["chain_id"] > 0
    assert checks["wallet_crypto"]["state"] == "ok"


@pytest.mark.keyring
def test_require_runtime_turns_a_missing_runtime_into_a_failure(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = run_with_secret_service(_selftest_cmd(report, "--require-runtime"), tmp_path,
                                     {"FARNODE_HOME": str(tmp_path / "farnode")})
    assert result.returncode == 1
    body = json.loads(report.read_text())
    assert body["failed"] == ["runtime"]
    assert "not installed" in body["checks"]["runtime"]["error"]
    assert "runtime FAILED" in result.stderr


def test_no_secret_service_fails_with_a_plain_reason(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBUS_")}
    env.update({"HOME": str(tmp_path), "FARNODE_HOME": str(tmp_path / "farnode"), "QT_QPA_PLATFORM": "offscreen",
                "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"})
    report = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", "farnode_desktop", "--self-test", "--report", str(report)],
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body == json.loads(report.read_text())
    assert body["failed"] == ["keyring"]
    assert "no secure OS keyring" in body["checks"]["keyring"]["error"]
    assert body["checks"]["qt"]["ok"] is True
