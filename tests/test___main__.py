"""`python -m farnode_desktop` runs the `farnode` command in a real process, and its exit code is the process's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _farnode(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["FARNODE_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "farnode_desktop", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_help_comes_from_the_module_entry_point(tmp_path: Path) -> None:
    result = _farnode("--help", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: farnode") and "runtime" in result.stdout and "wallet" in result.stdout


def test_a_refused_command_exits_with_its_own_code(tmp_path: Path) -> None:
    # without a display `farnode app` is refused in plain words: exit 2 passes through SystemExit
    app = _farnode("app", home=tmp_path)
    assert app.returncode == 2 and "no display to show the app on" in app.stderr and "Traceback" not in app.stderr
