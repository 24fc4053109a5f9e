"""Helpers for the installer tests: the repository root and a real Secret Service in a private D-Bus session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "installer"


def need_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (installed by `make test` via apt)")


def run_with_secret_service(script: str, home: Path, env: dict[str, str] | None = None,
                            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) inside dbus-run-session with an unlocked gnome-keyring, HOME=`home`."""
    need_tools("dbus-run-session", "gnome-keyring-daemon")
    # a fresh, headless machine: no runtime from the test run (FARNODE_RUNTIME_DIR), no display to prompt on
    dropped = ("FARNODE_RUNTIME_DIR", "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DBUS_") and k not in dropped}
    full_env.update({"HOME": str(home), "QT_QPA_PLATFORM": "offscreen", **(env or {})})
    wrapped = f"printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && {script}"
    return subprocess.run(["dbus-run-session", "--", "sh", "-c", wrapped], env=full_env, capture_output=True,
                          text=True, timeout=timeout, check=False)
