"""`farnode update check|status` as a provider runs them: against a real repository on loopback, in a FarNode home
pointed at it; a refused check exits non-zero with a plain line and no traceback."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from farnode_desktop.cli import main
from farnode_desktop.cli.commands import build_parser
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.devnet.update_repo import MODEL_CATALOG
from tests.core.updates.update_server import catalog, make_repo, point_at, serve


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    monkeypatch.setenv("FARNODE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    return AppPaths.default().ensure()


def test_update_is_registered_with_check_status_apply_and_rollback() -> None:
    parser = build_parser()
    for name in ("check", "status", "apply", "rollback"):  # apply/rollback: tests/core/updates/test_app_update.py
        assert parser.parse_args(["update", name]).handler.__name__ == f"cmd_{name}"
    with pytest.raises(SystemExit):
        parser.parse_args(["update", "install"])


def test_check_installs_then_status_says_what_is_trusted(home: AppPaths, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path)
    assert main(["update", "status"]) == 0
    out = capsys.readouterr().out
    assert "none (a development build: no update server)" in out and "last check: never" in out
    assert "network manifest: shipped with FarNode" in out
    with serve(repo.folder) as (url, _):
        point_at(home, url, repo)
        assert main(["update", "check"]) == 0
        assert "installed" in capsys.readouterr().out
        assert main(["update", "status", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["channel"]["url"] == url and info["channel"]["root_version"] == 1
    assert info["manifest"]["verified"] and info["catalog"]["verified"] and info["last_check"]["ok"]


def test_a_refused_check_exits_non_zero_in_plain_words(home: AppPaths, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path)
    with serve(repo.folder) as (url, _):
        point_at(home, url, repo)
        assert main(["update", "check"]) == 0
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        repo.refresh_timestamp(lifetime=timedelta(seconds=-5))
        capsys.readouterr()
        assert main(["update", "check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("update check: the update server's signed metadata has expired") and "Traceback" not in err
    assert main(["update", "status"]) == 0
    assert "REFUSED" in capsys.readouterr().out
