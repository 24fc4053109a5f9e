"""AppCore's update check is wired: its tick starts the background check, which installs a signed manifest from a
real repository on loopback, and the coordinator and pinned networks come from that manifest afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings
from tests.core.test_app_core import make_core
from tests.core.updates.update_server import make_repo, point_at, serve


def test_the_tick_checks_for_updates_and_the_manifest_then_names_the_coordinator(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    repo = make_repo(tmp_path / "release")
    core, _ = make_core(tmp_path / "home", "linux_rtx4090_rtx3060.json",
                        Settings(model="meta-llama/Llama-2-70b-chat-hf", chain_id=8453,
                                 initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))
    assert isinstance(core, AppCore)
    with serve(repo.folder) as (url, _):
        point_at(AppPaths.under(tmp_path / "home"), url, repo)
        core.start(serve=False)
        assert core.coordinator().base_url == Settings().coordinator_url  # nothing verified yet: the default
        core.tick()
        core.updates.join(30)
    assert core.updates.last is not None and core.updates.last.ok, core.updates.last
    assert core.networks().require(8453).token == "0x" + "11" * 20
    assert core.coordinator().base_url.rstrip("/") == "https://coordinator.example.org"
    core.shutdown(timeout_s=5)
