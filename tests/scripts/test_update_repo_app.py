"""`scripts/update_repo.py publish-app`: a bundle becomes a signed app target with its version, platform, kind and
entry in the targets role's custom metadata, which an installation reads as a release; a bad version is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tuf.api.metadata import Targets

from farnode_desktop.core.updates.app_release import app_releases
from tests.core.updates.app_bundles import archive, make_bundle
from tests.core.updates.update_server import make_repo

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "update_repo.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_publish_app_signs_a_release_the_client_reads(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "release")
    bundle = tmp_path / "farnode-0.2.0-linux-x86_64.tar.gz"
    bundle.write_bytes(archive(make_bundle(tmp_path / "src", "0.2.0"), "0.2.0"))
    common = ("--repo", str(repo.folder), "--keys", str(repo.keys), "--file", str(bundle), "--platform",
              "linux-x86_64")
    refused = _run("publish-app", *common, "--version", "latest")
    assert refused.returncode == 1 and "'latest' is not a release version" in refused.stderr
    done = _run("publish-app", *common, "--version", "0.2.0")
    assert done.returncode == 0, done.stderr
    assert "published app/linux-x86_64/farnode-0.2.0-linux-x86_64.tar.gz (FarNode 0.2.0, linux-x86_64)" in done.stdout
    [release] = app_releases(repo.load("targets", Targets).signed)
    assert (release.version, release.platform, release.kind, release.entry) == ("0.2.0", "linux-x86_64", "bundle",
                                                                                "farnode")
    assert release.length == bundle.stat().st_size and release.unpacked_bytes and release.unpacked_bytes > 1_000_000
