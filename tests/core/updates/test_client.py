"""The update client against a real repository over loopback HTTP: a good release installs; TUF's threat model,
each attack refused in plain words with what is installed untouched."""

from __future__ import annotations

import errno
from datetime import timedelta
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, Targets

from farnode_desktop.core.earnings.network import installation_networks, verified_manifest_path
from farnode_desktop.core.gpus.catalog import Catalog, catalog_path, verified_catalog_path
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.client import UpdateClient, last_check
from farnode_desktop.devnet.update_repo import MODEL_CATALOG, NETWORK_MANIFEST, UpdateRepository
from tests.core.updates.update_server import catalog, make_repo, manifest, point_at, serve


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    return AppPaths.under(tmp_path / "home").ensure()


@pytest.fixture
def repo(tmp_path: Path) -> UpdateRepository:
    return make_repo(tmp_path)


def installed(paths: AppPaths) -> dict[str, bytes | None]:
    out = {}
    for path in (verified_manifest_path(paths), verified_catalog_path(paths)):
        out[path.name] = path.read_bytes() if path.exists() else None
    return out


def first_check(paths: AppPaths, repo: UpdateRepository, url: str) -> dict[str, bytes | None]:
    point_at(paths, url, repo)
    result = UpdateClient(paths).check()
    assert result.ok, result.message
    return installed(paths)


def test_a_signed_release_installs_and_becomes_what_farnode_trusts(paths: AppPaths, repo: UpdateRepository) -> None:
    assert installation_networks(paths).get(8453) is None
    with serve(repo.folder) as (url, _):
        point_at(paths, url, repo)
        result = UpdateClient(paths).check()
    assert result.ok and sorted(result.installed) == [MODEL_CATALOG, NETWORK_MANIFEST], result.message
    assert result.targets_version == 2
    base = installation_networks(paths).require(8453)  # the manifest now pins Base's token and contract
    assert base.coordinator_url == "https://coordinator.example.org" and base.token == "0x" + "11" * 20
    assert catalog_path(paths) == verified_catalog_path(paths)
    assert Catalog.load(paths=paths).names() == Catalog.parse(__import__("json").loads(catalog()), "x").names()
    assert last_check(paths) == result


def test_a_new_release_replaces_only_what_changed(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, faults):
        first_check(paths, repo, url)
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        faults.requests.clear()
        result = UpdateClient(paths).check()
    assert result.ok and result.installed == [MODEL_CATALOG] and result.unchanged == [NETWORK_MANIFEST]
    assert not any("manifest.json" in r for r in faults.requests if r.startswith("/targets/"))
    assert len(Catalog.load(paths=paths).models) == len(Catalog.load(Path("resources/models.json")).models) - 1


def _refused(paths: AppPaths, before: dict[str, bytes | None], words: str) -> str:
    result = UpdateClient(paths).check()
    assert not result.ok
    assert words in result.message and "nothing installed was changed" in result.message, result.message
    assert "Traceback" not in result.message
    assert installed(paths) == before
    assert result.refused or "too slowly" in result.message  # a refusal is told in the tray; offline is not
    return result.message


def test_arbitrary_software_a_target_swapped_on_the_server_is_refused(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, faults):
        before = first_check(paths, repo, url)
        repo.publish({NETWORK_MANIFEST: manifest("https://coordinator-v2.example.org")})
        evil = manifest("https://attacker.example.org")
        for path in (repo.targets_dir / "network").iterdir():
            faults.swap[f"/targets/network/{path.name}"] = evil[: path.stat().st_size].ljust(path.stat().st_size)
        _refused(paths, before, "does not match its signed length or hash")
    assert installation_networks(paths).require(8453).coordinator_url == "https://coordinator.example.org"


def test_arbitrary_software_targets_signed_by_a_key_the_root_does_not_name(paths: AppPaths,
                                                                           repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, _):
        before = first_check(paths, repo, url)
        targets = repo.load("targets", Targets)
        targets.signed.version += 1
        repo.write(targets, [CryptoSigner.generate_ed25519()])  # an attacker's own key
        repo.refresh_timestamp()
        snapshot_version = repo.load("timestamp").signed.snapshot_meta.version
        snapshot = repo.load("snapshot")
        snapshot.signed.meta["targets.json"].version = targets.signed.version
        snapshot.signed.version += 1
        repo.write(snapshot, repo.signers("snapshot"))
        repo.refresh_timestamp(snapshot_version=snapshot_version + 1)
        _refused(paths, before, "not signed by enough of the keys")


def test_rollback_to_older_metadata_is_refused(paths: AppPaths, repo: UpdateRepository) -> None:
    old = (repo.metadata_dir / "timestamp.json").read_bytes()
    repo.publish({MODEL_CATALOG: catalog(drop=1)})
    with serve(repo.folder) as (url, faults):
        before = first_check(paths, repo, url)
        faults.swap["/metadata/timestamp.json"] = old  # validly signed, but older than what this PC trusts
        _refused(paths, before, "older than this PC already trusts")


def test_indefinite_freeze_an_expired_timestamp_is_refused(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, _):
        before = first_check(paths, repo, url)
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        repo.refresh_timestamp(lifetime=timedelta(seconds=-60))
        _refused(paths, before, "has expired")


def test_endless_data_a_target_larger_than_signed_is_refused(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, faults):
        before = first_check(paths, repo, url)
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        name = next(p.name for p in (repo.targets_dir / "catalog").iterdir()
                    if p.read_bytes() == catalog(drop=1))
        faults.swap[f"/targets/catalog/{name}"] = catalog(drop=1) + b" " * 5_000_000
        message = _refused(paths, before, "more data than its signed metadata allows")
    assert "5000000" not in message


def test_endless_data_in_metadata_is_refused(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, faults):
        before = first_check(paths, repo, url)
        faults.swap["/metadata/timestamp.json"] = b"{" + b" " * 10_000_000
        _refused(paths, before, "more data than its signed metadata allows")


def test_mix_and_match_a_snapshot_from_another_release_is_refused(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, faults):
        before = first_check(paths, repo, url)
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        current = repo.load("timestamp").signed.snapshot_meta.version
        # the server pairs the new timestamp with the previous release's snapshot
        faults.swap[f"/metadata/{current}.snapshot.json"] = (repo.metadata_dir / f"{current - 1}.snapshot.json"
                                                              ).read_bytes()
        _refused(paths, before, "a mix of releases")


def test_a_compromised_targets_key_below_threshold_is_refused(paths: AppPaths, tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"targets": 2})
    with serve(repo.folder) as (url, _):
        before = first_check(paths, repo, url)
        stolen = repo.signers("targets")[:1]  # one of the two keys the targets role needs
        targets = repo.load("targets", Targets)
        evil = manifest("https://attacker.example.org")
        from tuf.api.metadata import TargetFile
        targets.signed.targets[NETWORK_MANIFEST] = TargetFile.from_data(NETWORK_MANIFEST, evil, ["sha256"])
        targets.signed.version += 1
        repo.write(targets, stolen)
        snapshot = repo.load("snapshot")
        snapshot.signed.meta["targets.json"].version = targets.signed.version
        snapshot.signed.version += 1
        repo.write(snapshot, repo.signers("snapshot"))
        repo.refresh_timestamp(snapshot_version=snapshot.signed.version)
        _refused(paths, before, "not signed by enough of the keys")
    assert installation_networks(paths).require(8453).coordinator_url == "https://coordinator.example.org"


def test_fast_forward_recovery_after_the_timestamp_key_is_rotated(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, _):
        first_check(paths, repo, url)
        repo.refresh_timestamp(version=10**9)  # a stolen timestamp key fast-forwards every client
        assert UpdateClient(paths).check().ok
        repo.rotate("timestamp")  # the repository rotates that key and starts the timestamp over at 1
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        result = UpdateClient(paths).check()
    assert result.ok and result.installed == [MODEL_CATALOG], result.message


def test_a_root_rotation_done_right_is_accepted(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, _):
        first_check(paths, repo, url)
        assert repo.rotate("root") == 2 and repo.rotate("targets") == 3
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        result = UpdateClient(paths).check()
    assert result.ok and result.installed == [MODEL_CATALOG], result.message
    assert (paths.data / "updates" / "metadata" / "root_history" / "3.root.json").exists() or \
        Metadata.from_file(str(paths.data / "updates" / "metadata" / "root.json")).signed.version == 3


def test_a_root_rotation_signed_only_by_the_new_keys_is_refused(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, _):
        before = first_check(paths, repo, url)
        new = repo.load("root")
        for keyid in list(new.signed.roles["root"].keyids):
            new.signed.revoke_key(keyid, "root")
        attacker = CryptoSigner.generate_ed25519()
        new.signed.add_key(attacker.public_key, "root")
        new.signed.version += 1
        repo.write(new, [attacker])
        _refused(paths, before, "not signed by enough of the keys")


def test_a_signed_manifest_this_farnode_cannot_use_changes_nothing(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, _):
        before = first_check(paths, repo, url)
        repo.publish({NETWORK_MANIFEST: b'{"format": "something-else"}', MODEL_CATALOG: catalog(drop=1)})
        result = UpdateClient(paths).check()
    assert not result.ok and "not a FarNode network manifest" in result.message and "nothing was installed" in \
        result.message
    assert installed(paths) == before  # the catalog, though valid, waits for a release that is whole


def test_a_server_that_drips_is_cut_off(paths: AppPaths, repo: UpdateRepository) -> None:
    from farnode_desktop.core.updates.fetcher import BoundedFetcher
    with serve(repo.folder) as (url, faults):
        before = first_check(paths, repo, url)
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        faults.drip.add("/metadata/timestamp.json")
        result = UpdateClient(paths, fetcher=BoundedFetcher(read_timeout_s=5, total_s=1.0)).check()
    assert not result.ok and "too slowly" in result.message, result.message
    assert installed(paths) == before


def test_a_server_that_disappears_mid_download(paths: AppPaths, repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, faults):
        before = first_check(paths, repo, url)
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        for path in (repo.targets_dir / "catalog").iterdir():
            faults.cut.add(f"/targets/catalog/{path.name}")
        result = UpdateClient(paths).check()
    assert not result.ok and "broke off" in result.message, result.message
    assert installed(paths) == before
    with serve(repo.folder) as (url, _):  # the server comes back: the next check finishes the job
        point_at(paths, url, repo)
        assert UpdateClient(paths).check().installed == [MODEL_CATALOG]


def test_a_full_disk_while_installing_keeps_the_previous_files(paths: AppPaths, repo: UpdateRepository) -> None:
    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    with serve(repo.folder) as (url, _):
        before = first_check(paths, repo, url)
        repo.publish({MODEL_CATALOG: catalog(drop=1), NETWORK_MANIFEST: manifest("https://c2.example.org")})
        result = UpdateClient(paths, writer=full).check()
    assert not result.ok and "the disk is full" in result.message and "previous files stay" in result.message
    assert installed(paths) == before


def test_a_server_that_cannot_be_reached(paths: AppPaths, repo: UpdateRepository) -> None:
    point_at(paths, "http://127.0.0.1:9", repo)
    result = UpdateClient(paths).check()
    assert not result.ok and "cannot be reached" in result.message and "nothing installed" in result.message
    assert not result.refused
    assert installed(paths) == {"network-manifest.json": None, "models.json": None}


def test_trusted_metadata_damaged_on_disk_starts_over_from_the_anchor(paths: AppPaths,
                                                                        repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, _):
        first_check(paths, repo, url)
        (paths.data / "updates" / "metadata" / "root.json").write_bytes(b"\x00garbage")
        repo.publish({MODEL_CATALOG: catalog(drop=1)})
        result = UpdateClient(paths).check()
    assert result.ok and result.installed == [MODEL_CATALOG], result.message


def test_a_verified_catalog_damaged_on_disk_falls_back_to_the_shipped_one(paths: AppPaths,
                                                                         repo: UpdateRepository) -> None:
    with serve(repo.folder) as (url, _):
        first_check(paths, repo, url)
    verified_catalog_path(paths).write_text('{"models": [{"name": "x"}]}')
    assert Catalog.load(paths=paths).names() == Catalog.load(Path("resources/models.json")).names()
