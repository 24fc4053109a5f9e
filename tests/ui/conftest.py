"""UI fixtures: a real AppCore on recorded GPU readings with scripted nodes, and the one task runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from farnode_desktop.core.app_core import AppCore
from farnode_desktop.core.earnings.network import pin_local_devnet
from farnode_desktop.core.settings import Settings
from farnode_desktop.devnet import Devnet
from farnode_desktop.devnet.demo import MemoryKeyring
from farnode_desktop.ui.tasks import TaskRunner
from tests.ui.fakes import BIG_MODEL, make_core


@pytest.fixture
def tasks(qtbot: QtBot) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.close()


@pytest.fixture
def core(tmp_path: Path) -> Iterator[AppCore]:
    app_core = make_core(tmp_path / "home")
    app_core.start()
    yield app_core
    app_core.shutdown(timeout_s=5)
    app_core.ledger.close()


def tick_until(core: AppCore, qtbot: QtBot, done: object, timeout_ms: int = 8000) -> None:
    """Tick the core (as the heartbeat does) until `done()` holds."""
    assert callable(done)

    def check() -> None:
        core.tick()
        assert done()

    qtbot.waitUntil(check, timeout=timeout_ms)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The offscreen platform warns that it cannot propagate size hints or raise a window; harmless.
    for item in items:
        if "tests/ui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"))


@pytest.fixture
def devnet_core(devnet: Devnet, tmp_path: Path) -> Iterator[AppCore]:
    """A real AppCore paid through a real devnet (chain + coordinator on loopback), its wallet in an in-memory
    keyring (the Secret Service itself is tested in tests/core/earnings/ and tests/ui/test_screenshots.py)."""
    assert devnet.info is not None
    settings = Settings(model=BIG_MODEL, new_swarm=True, serve_on_launch=False,
                        coordinator_url=devnet.info.coordinator_url, chain_rpc_url=devnet.info.rpc_url)
    app_core = make_core(tmp_path / "devnet-home", settings=settings, keystore=MemoryKeyring())
    pin_local_devnet(app_core.paths, devnet.info.pinned_network())  # as the demo pins its devnet's token
    app_core.start()
    yield app_core
    app_core.shutdown(timeout_s=5)
    app_core.ledger.close()
