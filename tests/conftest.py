"""Shared fixtures: an isolated FarNode home per test and Qt forced offscreen unless a display is wanted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from farnode_desktop.devnet import Devnet, Rules
from tests.devnet.helpers import DEVNET_FEE, DEVNET_MIN_CLAIM, DEVNET_RATE

# Qt aborts without a platform; tests that want the real X display (tray tests) set FARNODE_TEST_DISPLAY.
if not os.environ.get("FARNODE_TEST_DISPLAY"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"


@pytest.fixture
def farnode_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every FarNode folder at a temporary directory for the test."""
    home = tmp_path / "farnode-home"
    home.mkdir()
    monkeypatch.setenv("FARNODE_HOME", str(home))
    yield home


@pytest.fixture
def devnet() -> Iterator[Devnet]:
    """A fresh devnet (chain, token, coordinator) on loopback, with the claim rules the tests count with."""
    net = Devnet(Rules(rate_per_block_token=DEVNET_RATE, min_claim=DEVNET_MIN_CLAIM, fee=DEVNET_FEE, settle_seconds=0))
    net.start()
    yield net
    net.stop()
