"""AppCore's update check is wired: its tick starts the background check, which installs a signed manifest from a
real repository on loopback, and the coordinator and pinned networks come from that manifest afterwards; a new
verified catalog is read again at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings
from farnode_desktop.devnet.update_repo import MODEL_CATALOG
from tests.core.test_app_core import make_core
from tests.core.updates.update_server import catalog, make_repo, point_at, serve


def test_the_tick_checks_for_updates_and_the_manifest_then_names_the_coordinator(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    repo = make_repo(tmp_path / "release")
    core, _ = make_core(tmp_path / "home", "linux_rtx4090_rtx3060.json",
                        Settings(model="meta-llama/Llama-2-70b-chat-hf", chain_id=8453,
                                 initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))
    assert isinstance(core, AppCore)
    before = core.catalog.names()
    with serve(repo.folder) as (url, _):
        point_at(AppPaths.under(tmp_path / "home"), url, repo)
        core.start(serve=False)
        assert core.coordinator().base_url == Settings().coordinator_url  # nothing verified yet: the default
        core.tick()
        core.updates.join(30)
    assert core.updates.last is not None and core.updates.last.ok, core.updates.last
    assert core.networks().require(8453).token == "0x" + "11" * 20
    assert core.coordinator().base_url.rstrip("/") == "https://coordinator.example.org"
    assert len(core.catalog.models) == len(before)
    with serve(repo.folder) as (url, _):
        point_at(AppPaths.under(tmp_path / "home"), url, repo)
        repo.publish({MODEL_CATALOG: catalog(drop=1)})  # the network stops offering the first model
        core.clock.sleep(core.updates.period_s)  # the manual clock: 4 hours later
        core.tick()
        core.updates.join(30)
    assert core.updates.last is not None and core.updates.last.installed == [MODEL_CATALOG]
    assert core.catalog.names() == before[1:]  # read again at once: the next plan uses it
    core.shutdown(timeout_s=5)
