"""The verified signed manifest is what the installation pins when present; one damaged on disk falls back to the
shipped manifest and says why; the coordinator left at its default comes from the pinned manifest."""

from __future__ import annotations

import json
from pathlib import Path

from farnode_desktop.core.earnings.network import (
    PinnedNetwork,
    coordinator_url,
    installation_networks,
    manifest_json,
    verified_manifest_path,
)
from farnode_desktop.core.paths import AppPaths

BASE = PinnedNetwork(8453, "Base", "https://rpc.example.org", "https://coordinator.example.org",
                     "0x" + "11" * 20, "0x" + "22" * 20)


def test_the_verified_manifest_replaces_the_shipped_one(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path)
    assert installation_networks(paths).get(8453) is None
    verified_manifest_path(paths).parent.mkdir(parents=True)
    verified_manifest_path(paths).write_text(json.dumps(manifest_json([BASE])))
    networks = installation_networks(paths)
    assert networks.require(8453).payout_contract == BASE.payout_contract and networks.problems == ()
    assert coordinator_url("http://127.0.0.1:8787", "http://127.0.0.1:8787", networks, 8453) == BASE.coordinator_url
    assert coordinator_url("https://mine.example.org", "http://127.0.0.1:8787", networks, 8453) == \
        "https://mine.example.org"  # the provider's own choice stays theirs


def test_a_damaged_verified_manifest_falls_back_and_says_why(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path)
    verified_manifest_path(paths).parent.mkdir(parents=True)
    verified_manifest_path(paths).write_text("{not json")
    networks = installation_networks(paths)
    assert networks.get(8453) is None and networks.networks  # the shipped manifest's networks
    assert len(networks.problems) == 1 and "using the manifest FarNode shipped with" in networks.problems[0]
