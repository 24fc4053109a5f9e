"""The app's tick is wired to the runtime update: a runtime lock published in a real repository on loopback is seen
by the background check, downloaded verified by TUF, and handed to the prepare step, whose refusal (here: no
current runtime to update) is told on the bus; a lock the channel did not sign is never used."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.events import Event
from farnode_desktop.core.node.runtime_lock import lock_file
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings
from farnode_desktop.core.updates.runtime_update import RUNTIME_INFO, RUNTIME_LOCK, RuntimeTargets
from tests.core.test_app_core import make_core
from tests.core.updates.update_server import make_repo, point_at, serve


def test_a_published_runtime_lock_reaches_the_runtime_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    monkeypatch.delenv("FARNODE_RUNTIME_DIR", raising=False)  # the home's own runtime folder: not installed
    repo = make_repo(tmp_path / "release")
    new_lock = lock_file().read_bytes() + b"# a newer runtime\n"
    repo.publish({RUNTIME_LOCK: new_lock, RUNTIME_INFO: b'{"cuda_build": 13000}'})
    core, _ = make_core(tmp_path / "home", "linux_rtx4090_rtx3060.json",
                        Settings(model="meta-llama/Llama-2-70b-chat-hf", initial_peers=["/ip4/1.2.3.4/tcp/1/p2p/QmX"]))
    assert isinstance(core, AppCore)
    said: list[Event] = []
    core.bus.subscribe(said.append, "update.")
    paths = AppPaths.under(tmp_path / "home")
    with serve(repo.folder) as (url, _):
        point_at(paths, url, repo)
        assert RuntimeTargets(paths).fetch() == (new_lock, b'{"cuda_build": 13000}')  # verified bytes
        core.start(serve=False)
        core.tick()
        core.updates.join(30)
        deadline = time.monotonic() + 30
        while not any("node runtime update" in e.reason for e in said) and time.monotonic() < deadline:
            core.tick()
            time.sleep(0.1)
        core.runtime_updates.join(30)
    problems = [e.reason for e in said if e.topic == "update.problem"]
    assert problems == ["the node runtime update was not applied: the current node runtime is not installed, so "
                        "there is nothing to update"]
    core.shutdown(timeout_s=5)
