"""The node runtime: the lock, install idempotence, the check, and plain errors for what goes wrong."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node import runtime as runtime_module
from farnode_desktop.core.node.runtime import NodeRuntime, lock_file

pytestmark = pytest.mark.runtime


def test_the_lock_pins_every_package_with_a_hash() -> None:
    lines = lock_file().read_text().splitlines()
    pins = [line for line in lines if re.match(r"^[A-Za-z0-9]", line)]
    assert len(pins) > 50
    for pin in pins:
        assert re.match(r"^[A-Za-z0-9._-]+==[^\s]+ \\$", pin), pin
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", "\n".join(lines))) == len(pins)
    versions = NodeRuntime(Path("/nonexistent")).locked_versions()
    assert versions["hivemind"] == "1.1.12" and versions["pydantic"].startswith("2.")
    assert versions["petals"] == "2.2.0.post1" and "git+" not in lock_file().read_text()


def test_check_passes_on_the_installed_runtime_and_install_is_idempotent(runtime: NodeRuntime) -> None:
    report = runtime.check()
    assert report.ok, report.problems
    assert report.versions["hivemind"] == "1.1.12" and report.versions["pydantic"].startswith("2.")
    assert report.imports["bridge"] == "ok" and report.imports["petals.server.server"] == "ok"
    assert any("petals 2.2.0.post1 has requirement hivemind" in c for c in report.known_pin_conflicts)
    assert report.pip_problems == []
    said: list[str] = []
    assert runtime.install(progress=lambda msg, done, total: said.append(msg)) is False
    assert said == ["the node runtime is already installed"]


def test_the_cli_check_reports_json(runtime: NodeRuntime) -> None:
    out = subprocess.run([sys.executable, "-m", "farnode_desktop", "runtime", "check", "--json"],
                         capture_output=True, text=True, check=False, timeout=300)
    assert out.returncode == 0, out.stderr
    assert '"ok": true' in out.stdout and '"hivemind": "1.1.12"' in out.stdout


def test_a_broken_runtime_is_reported(tmp_path: Path) -> None:
    broken = NodeRuntime(tmp_path / "rt")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(broken.location)], check=True)
    report = broken.check()
    assert not report.ok
    assert any("self-check" in p or "import" in p for p in report.problems)


def test_wrong_python_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    # Stand-in for a Python 3.12 interpreter (none is installed on this machine): answers the version query.
    fake = tmp_path / "python3.12"
    fake.write_text("#!/bin/sh\necho 3 12\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    rt = NodeRuntime(tmp_path / "rt", base_python=str(fake))
    with pytest.raises(FarNodeError, match=r"needs Python 3\.11, but .* is Python 3\.12") as err:
        rt.install()
    assert "FARNODE_RUNTIME_PYTHON" in err.value.hint
    assert not (tmp_path / "rt").exists()


def test_not_enough_disk_space_is_a_plain_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_module, "NEEDED_BYTES", 10**18)  # more than any disk here has
    rt = NodeRuntime(tmp_path / "rt")
    with pytest.raises(FarNodeError, match="not enough disk space for the node runtime") as err:
        rt.install()
    assert "resumes" in err.value.hint


def test_an_unreachable_registry_is_a_plain_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"PIP_CONFIG_FILE": "/dev/null", "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
                        "PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": "", "PIP_NO_CACHE_DIR": "1",
                        "PIP_RETRIES": "0", "PIP_TIMEOUT": "2"}.items():
        monkeypatch.setenv(name, value)
    rt = NodeRuntime(tmp_path / "rt")
    with pytest.raises(FarNodeError, match="package registry") as err:
        rt.install()
    assert "run the install again" in err.value.hint
    assert not rt.is_installed()


def test_every_machine_installs_the_one_lock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from farnode_desktop.core.node.runtime_lock import LOCK_ENV, unified_lock_name

    monkeypatch.delenv(LOCK_ENV, raising=False)
    monkeypatch.setenv("FARNODE_RUNTIME_FLAVOUR", "cpu")  # the old two-lock switch: it chooses nothing any more
    rt = NodeRuntime(tmp_path / "rt")
    assert rt.lock.name == unified_lock_name() and rt.lock.exists()  # PyPI's CUDA torch, on a GPU and a CPU alike
    assert rt.locked_versions()["torch"] == "2.14.1"


def test_a_lock_named_by_the_environment_that_does_not_exist_is_a_plain_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from farnode_desktop.core.node.runtime_lock import LOCK_ENV

    monkeypatch.setenv(LOCK_ENV, str(tmp_path / "no-such-lock.txt"))
    with pytest.raises(FarNodeError, match="does not exist") as err:
        NodeRuntime(tmp_path / "rt").install()
    assert LOCK_ENV in err.value.hint
    assert not (tmp_path / "rt").exists()
