"""Fixtures for devnet tests: a fresh devnet per test, on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from farnode_desktop.devnet import Devnet, Rules


@pytest.fixture
def devnet() -> Iterator[Devnet]:
    net = Devnet(Rules(rate_per_block_token=10**12, min_claim=10**15, fee=10**13, settle_seconds=0))
    net.start()
    yield net
    net.stop()
