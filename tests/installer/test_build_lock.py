"""The frozen app's build lock: every pin hashed, covering the app's dependencies, equal to what tests run."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from tests.installer.conftest import INSTALLER, ROOT

LOCK = INSTALLER / "build-requirements.txt"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock_pins() -> dict[str, tuple[str, str, list[str]]]:
    """name -> (version, marker, hashes), parsed from pip's requirements format."""
    pins: dict[str, tuple[str, str, list[str]]] = {}
    text = LOCK.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?:\s*;\s*([^-]+?))?\s+(--hash=.*)$", line)
        if m:
            pins[_norm(m.group(1))] = (m.group(2), (m.group(3) or "").strip(),
                                       re.findall(r"--hash=sha256:([0-9a-f]{64})", m.group(4)))
    return pins


def test_every_pin_is_exact_and_hashed() -> None:
    pins = _lock_pins()
    requirement_lines = [ln for ln in LOCK.read_text().splitlines() if re.match(r"^[A-Za-z0-9]", ln)]
    assert len(pins) == len(requirement_lines) > 50
    assert all(hashes for _, _, hashes in pins.values())


def test_lock_covers_the_apps_runtime_dependencies_and_the_freezer() -> None:
    pins = _lock_pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = _norm(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0])
        assert name in pins, f"{name} (a dependency in pyproject.toml) is missing from the build lock"
    for name in ("pyinstaller", "secretstorage", "jeepney", "pywin32-ctypes", "eth-tester", "fastapi", "uvicorn"):
        assert name in pins
    assert pins["secretstorage"][1] == "sys_platform == 'linux'"
    assert pins["pywin32-ctypes"][1] == "sys_platform == 'win32'"


def test_development_venv_matches_the_lock() -> None:
    """The test suite freezes with the dev venv; this keeps that build identical to a release build."""
    mismatched = {}
    for name, (version, marker, _) in _lock_pins().items():
        # setuptools only builds farnode-desktop itself in the build venv; the spec keeps it out of the app.
        if "win32" in marker or "darwin" in marker or name == "setuptools":
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            mismatched[name] = (version, None)
            continue
        if installed != version:
            mismatched[name] = (version, installed)
    assert not mismatched, f"lock vs .venv (run installer/lock_build_requirements.sh): {mismatched}"
