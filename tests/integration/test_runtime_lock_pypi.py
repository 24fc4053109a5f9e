"""The unified lock installs the way a provider's PC sees it: PyPI alone, with this machine's pip additions off
(its local wheel folder, local mirrors and torch constraint), and this machine installs the very same files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from farnode_desktop.core.node.runtime_lock import lock_file, provider_pip_env

LOCK = lock_file()
PYPI_FILES = "https://files.pythonhosted.org/"
LOCAL_INDEXES = (Path("/opt/pypi/simple"), Path("/opt/pypi-more/simple"))


def locked() -> dict[str, tuple[str, str, str]]:
    """normalised name -> (name==version line as written, version, sha256)."""
    found = re.findall(r"^(([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)) \\\n\s+--hash=sha256:([0-9a-f]{64})$",
                       LOCK.read_text(), re.M)
    return {norm(name): (line, version, digest) for line, name, version, digest in found}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def provider_pip(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """pip as a provider's PC runs it; an unreachable PyPI is said plainly, never passed over."""
    try:
        out = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                             env=provider_pip_env(), timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip(f"PyPI did not answer within {timeout:.0f} s: the lock could NOT be checked against PyPI")
    if re.search(r"Failed to establish a new connection|Temporary failure in name resolution|"
                 r"Max retries exceeded|Network is unreachable", out.stdout + out.stderr):
        pytest.skip("PyPI cannot be reached from this machine: the lock could NOT be checked against PyPI")
    return out


def test_every_locked_file_downloads_from_pypi_and_matches_its_hash(tmp_path: Path) -> None:
    # What a provider's `farnode runtime install` does, short of installing: the runtime's own pip version, the
    # lock as it is, --require-hashes. pip downloads every file (about 3.5 GB; it would even with metadata-only
    # dry runs) and checks its bytes; the report says where each came from.
    report = tmp_path / "report.json"
    out = provider_pip(["install", "--dry-run", "--ignore-installed", "--no-deps", "--require-hashes", "--quiet",
                        "--no-cache-dir", "--disable-pip-version-check", "--report", str(report), "-r", str(LOCK)],
                       timeout=480)
    assert out.returncode == 0, out.stderr[-3000:]
    chosen = {norm(e["metadata"]["name"]): e for e in json.loads(report.read_text())["install"]}
    pins = locked()
    assert chosen.keys() == pins.keys()
    for name, entry in chosen.items():
        info = entry["download_info"]
        assert info["url"].startswith(PYPI_FILES), (name, info["url"])  # the registry itself, nothing local
        assert info["archive_info"]["hashes"]["sha256"] == pins[name][2], name
        assert entry["metadata"]["version"] == pins[name][1], name


def test_this_machines_local_mirror_serves_the_same_files_as_pypi() -> None:
    """Here pip reads the CUDA wheels from a local mirror; the lock must name the same bytes as PyPI's, or this
    machine would test a runtime that no provider gets."""
    if not any(index.is_dir() for index in LOCAL_INDEXES):
        pytest.skip("this machine has no local package mirror: nothing to compare")
    pins = locked()
    files = dict(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==\S+ \\\n\s+--hash=\S+\n\s+# (\S+)$", LOCK.read_text(), re.M))
    filenames = {norm(name): filename for name, filename in files.items()}
    assert filenames.keys() == pins.keys()  # the lock names each package's file
    mirrored: dict[str, str] = {}
    for index in LOCAL_INDEXES:
        for name, filename in filenames.items():
            page = index / name / "index.html"
            if page.is_file():
                for found, digest in re.findall(r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"', page.read_text()):
                    if found == filename:
                        mirrored[name] = digest
    # the big CUDA files come from the mirror here, so an install on this machine downloads nothing twice
    for name in ("torch", "nvidia-cudnn-cu13", "nvidia-cublas", "nvidia-nccl-cu13", "triton"):
        assert name in mirrored, f"{name} {pins[name][1]} is not in this machine's mirror"
    different = {name: digest for name, digest in mirrored.items() if digest != pins[name][2]}
    assert different == {}, f"the local mirror has other bytes than PyPI for {sorted(different)}"
