"""The demo's node-runtime release, built offline from the installed runtime: its lock differs from the current one
in one package only, pins the rebuilt wheel's sha256, and sends pip to the local wheel folder alone; the wheel holds
the package's files with its new version said in its metadata and its module."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.updates.runtime_prepare import lock_changes, pins
from farnode_desktop.devnet.runtime_release import installed_version, lock_with, one_wheel_release
from tests.core.updates import runtime_rig

pytestmark = pytest.mark.runtime


@pytest.fixture
def runtime() -> NodeRuntime:
    installed = runtime_rig.test_runtime()
    assert installed.is_installed(), f"the test runtime at {installed.location} is not installed (make setup)"
    return installed


def test_one_wheel_release_changes_six_alone_and_names_its_local_folder(tmp_path: Path,
                                                                          runtime: NodeRuntime) -> None:
    old = installed_version(runtime, "six")
    release = one_wheel_release(runtime, tmp_path / "wheels")
    assert release.summary == f"six {old} -> {old}.post1"
    text = release.lock.decode()
    assert lock_changes(runtime.lock.read_text(), text) == (["six"], [])
    assert "\n--no-index\n" in text and f"--find-links {(tmp_path / 'wheels').as_uri()}\n" in text
    (wheel,) = (tmp_path / "wheels").iterdir()
    assert wheel.name == f"six-{old}.post1-py3-none-any.whl"
    assert f"--hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}" in pins(text)["six"]
    with zipfile.ZipFile(wheel) as zf:
        assert f'__version__ = "{old}.post1"' in zf.read("six.py").decode()
        assert f"Version: {old}.post1" in zf.read(f"six-{old}.post1.dist-info/METADATA").decode()
    assert release.info  # the runtime's metadata travels with the lock


def test_a_package_pinned_nowhere_is_refused_in_words(tmp_path: Path) -> None:
    wheel = tmp_path / "six-9.9-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    with pytest.raises(FarNodeError, match="six is not pinned once"):
        lock_with("numpy==2.0 \\\n    --hash=sha256:" + "0" * 64 + "\n", "six", wheel)
