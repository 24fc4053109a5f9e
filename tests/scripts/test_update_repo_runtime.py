"""`scripts/update_repo.py publish-runtime`: the lock and its metadata become signed targets a FarNode installation
downloads verified; a lock without hashes is refused and nothing is published."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from farnode_desktop.core.node.runtime_lock import lock_file, metadata_path
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.runtime_update import RuntimeTargets
from tests.core.updates.update_server import make_repo, point_at, serve

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "update_repo.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_publish_runtime_then_an_installation_fetches_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "release")
    bad = tmp_path / "bad.txt"
    bad.write_text("six==1.17.0\n")
    refused = _run("publish-runtime", "--repo", str(repo.folder), "--keys", str(repo.keys), "--lock", str(bad),
                   "--info", str(metadata_path(lock_file())))
    assert refused.returncode == 1 and "is not a hashed lock (no hash for: six)" in refused.stderr
    done = _run("publish-runtime", "--repo", str(repo.folder), "--keys", str(repo.keys), "--lock", str(lock_file()))
    assert done.returncode == 0, done.stderr
    assert "packages) as targets version 3" in done.stdout
    paths = AppPaths.under(tmp_path / "home").ensure()
    with serve(repo.folder) as (url, _):
        point_at(paths, url, repo)
        fetched = RuntimeTargets(paths).fetch()
    assert fetched == (lock_file().read_bytes(), metadata_path(lock_file()).read_bytes())
