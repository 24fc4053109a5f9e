"""`farnode earnings` when the coordinator is gone: the last known figures of this wallet, else a plain error."""

from __future__ import annotations

from pathlib import Path

from farnode_desktop.core.earnings.coordinator_models import Earnings
from farnode_desktop.core.earnings.ledger import Ledger
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import SettingsStore


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


def test_claim_amounts_are_typed_in_far_and_no_help_says_wei(capsys: object) -> None:
    import argparse

    import pytest

    from farnode_desktop.cli.commands import build_parser
    from farnode_desktop.cli.earnings_cmd import far_amount

    assert far_amount("0.5") == 5 * 10**17 and far_amount(" 2 ") == 2 * 10**18
    assert far_amount("0.000000000000000001") == 1
    for bad in ("abc", "-1", "0", "0.0000000000000000001", "nan", "inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            far_amount(bad)
    parser = build_parser()
    for group in (["claim"], ["earnings"], ["wallet", "create"]):
        with pytest.raises(SystemExit):
            parser.parse_args([*group, "--help"])
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "FAR" in out and "wei" not in out.lower().replace("weight", "")
