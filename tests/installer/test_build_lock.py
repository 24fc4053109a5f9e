"""The frozen app's build lock: every pin hashed, covering the app's dependencies, equal to what tests run."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from tests.installer.conftest import INSTALLER, ROOT

LOCK = INSTALLER / "build-requirements.txt"
DEV_LOCK = INSTALLER / "dev-requirements.txt"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock_pins(lock: Path = LOCK) -> dict[str, tuple[str, str, list[str]]]:
    """name -> (version, marker, hashes), parsed from pip's requirements format."""
    pins: dict[str, tuple[str, str, list[str]]] = {}
    text = lock.read_text().replace("\\\n", " ")
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


def test_dev_lock_is_the_build_lock_plus_test_tools() -> None:
    """The tests run against exactly what ships: every package the app ships is the same version in both locks."""
    build, dev = _lock_pins(LOCK), _lock_pins(DEV_LOCK)
    assert all(hashes for _, _, hashes in dev.values())
    differs = {name: (pin[0], dev.get(name, ("missing",))[0]) for name, pin in build.items()
               if dev.get(name, ("missing",))[0] != pin[0]}
    assert not differs, f"build lock vs dev lock (run installer/lock_build_requirements.sh): {differs}"
    for tool in ("pytest", "pytest-qt", "pytest-timeout", "mypy", "ruff"):
        assert tool in dev


def test_make_installs_the_venv_from_the_hashed_dev_lock() -> None:
    recipe = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r installer/dev-requirements.txt" in recipe
    assert "install -q -e '.[dev]'" not in recipe


def test_development_venv_matches_the_lock() -> None:
    """The test suite freezes with the dev venv; this keeps that build identical to a release build."""
    mismatched = {}
    for name, (version, marker, _) in _lock_pins(DEV_LOCK).items():
        if "win32" in marker or "darwin" in marker:
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            mismatched[name] = (version, None)
            continue
        if installed != version:
            mismatched[name] = (version, installed)
    assert not mismatched, f"dev lock vs .venv (run make python-env): {mismatched}"
