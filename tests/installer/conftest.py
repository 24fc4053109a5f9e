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
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DBUS_")}
    full_env.update({"HOME": str(home), "QT_QPA_PLATFORM": "offscreen", **(env or {})})
    wrapped = f"printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && {script}"
    return subprocess.run(["dbus-run-session", "--", "sh", "-c", wrapped], env=full_env, capture_output=True,
                          text=True, timeout=timeout, check=False)
