"""`farnode runtime rollback|update` where there is nothing to do: plain words and exit 1 / 0, nothing changed
(the full update with a real trial node: tests/integration/test_runtime_update_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.cli import main


def test_rollback_without_an_update_says_so(farnode_home: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("FARNODE_RUNTIME_DIR", raising=False)
    assert main(["runtime", "rollback"]) == 1
    assert "there is no previous node runtime to go back to" in capsys.readouterr().err
    assert not (farnode_home / "data" / "runtime").exists()


def test_update_without_an_update_server_does_nothing(farnode_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("FARNODE_RUNTIME_DIR", raising=False)
    assert main(["runtime", "update"]) == 0
    assert capsys.readouterr().out.strip() == "the update channel publishes no node runtime; nothing to do"
