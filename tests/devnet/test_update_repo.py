"""The update repository builder and its release script: init, publish, rotate and re-sign the timestamp, each
result verified by the real client over loopback HTTP; the private keys stay in the keys folder only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata

from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.channel import set_override
from farnode_desktop.core.updates.client import UpdateClient
from farnode_desktop.devnet.update_repo import NETWORK_MANIFEST, RUNTIME_LOCK, RepositoryError, UpdateRepository
from tests.core.updates.update_server import manifest, serve

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "update_repo.py"), *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def test_the_release_script_makes_a_repository_the_client_trusts(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    repo, keys, ship = tmp_path / "repo", tmp_path / "keys", tmp_path / "ship"
    (tmp_path / "manifest.json").write_bytes(manifest())
    (tmp_path / "lock.txt").write_text("torch==2.5.1\n")
    done = run("init", "--repo", str(repo), "--keys", str(keys), "--threshold", "targets=2", "--ship", str(ship),
               "--url", "http://127.0.0.1:1/")
    assert done.returncode == 0, done.stderr
    assert json.loads((ship / "channel.json").read_text()) == {"url": "http://127.0.0.1:1/"}
    assert Metadata.from_bytes((ship / "root.json").read_bytes()).signed.roles["targets"].threshold == 2
    done = run("publish", "--repo", str(repo), "--keys", str(keys), "--manifest", str(tmp_path / "manifest.json"),
               "--catalog", str(REPO / "resources" / "models.json"), "--runtime-lock", str(tmp_path / "lock.txt"))
    assert done.returncode == 0 and "targets version 2" in done.stdout, done.stderr
    assert run("rotate-root", "--repo", str(repo), "--keys", str(keys)).returncode == 0
    assert run("timestamp", "--repo", str(repo), "--keys", str(keys)).returncode == 0
    private = [p for p in repo.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]
    assert private == [] and len(list(keys.glob("*.pem"))) == 6  # root x2 (rotated), targets x2, snapshot, timestamp
    paths = AppPaths.under(tmp_path / "home").ensure()
    with serve(repo) as (url, _):
        set_override(paths, url, (ship / "root.json").read_bytes())
        result = UpdateClient(paths).check()
    assert result.ok and NETWORK_MANIFEST in result.installed, result.message
    assert RUNTIME_LOCK in result.available  # published for the runtime update of the next phase


def test_plain_refusals(tmp_path: Path) -> None:
    repo = UpdateRepository(tmp_path / "repo", tmp_path / "keys")
    with pytest.raises(RepositoryError, match="not an update repository"):
        repo.publish({NETWORK_MANIFEST: b"{}"})
    repo.init()
    with pytest.raises(RepositoryError, match="already holds"):
        repo.init()
    for key in (tmp_path / "keys").glob("targets.*"):
        key.unlink()
    with pytest.raises(RepositoryError, match="holds no targets key"):
        repo.publish({NETWORK_MANIFEST: b"{}"})
    done = run("publish", "--repo", str(tmp_path / "nothing"), "--keys", str(tmp_path / "keys"), "--manifest",
               str(tmp_path / "missing.json"))
    assert done.returncode == 1 and done.stderr.startswith("update_repo: ") and "Traceback" not in done.stderr


def test_the_demo_release_served_on_loopback_pins_the_devnet_through_the_signed_manifest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from farnode_desktop.core.earnings.network import PinnedNetwork, installation_networks, manifest_json
    from farnode_desktop.devnet.update_repo import LoopbackRepositoryServer, publish_demo_release

    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    shipped = json.loads((REPO / "resources" / "network" / "manifest.json").read_text())["networks"][0]
    devnet = PinnedNetwork(shipped["chain_id"], "FarNode devnet on this PC", "http://127.0.0.1:18545",
                           "http://127.0.0.1:18787", "0x" + "33" * 20, "0x" + "44" * 20, True)
    paths = AppPaths.under(tmp_path / "home").ensure()
    repo = publish_demo_release(paths.data / "update-release", json.dumps(manifest_json([devnet])).encode(),
                                (REPO / "resources" / "models.json").read_bytes())
    server = LoopbackRepositoryServer(repo.folder)
    try:
        set_override(paths, server.url, repo.root_bytes(1))
        result = UpdateClient(paths).check()
    finally:
        server.close()
    assert result.ok and result.message.startswith("installed network/manifest.json"), result.message
    pinned = installation_networks(paths).require(devnet.chain_id)
    assert pinned.token == "0x" + "33" * 20 and pinned.coordinator_url == "http://127.0.0.1:18787"
