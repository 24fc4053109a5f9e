"""The launcher as a real process: it runs the installed version when nothing is applied, passes the exit code
through, and "Restart to update" (the app exits with RESTART_EXIT) starts it again on the staged version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from farnode_desktop.core.updates.app_start import RESTART_EXIT
from tests.core.updates.test_app_start import staged

LAUNCH = """
import sys
from pathlib import Path
from farnode_desktop.core.updates.app_layout import AppRoot
from farnode_desktop.launcher import run
sys.exit(run(sys.argv[2:], [sys.executable, "-c", "import sys; sys.exit({code})"], AppRoot(Path(sys.argv[1]), "0.1.0")))
"""


def launcher(root: Path, code: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARNODE_")}
    env["FARNODE_HOME"] = str(root.parent.parent)  # <home>/data/app
    return subprocess.run([sys.executable, "-c", LAUNCH.format(code=code), str(root), *args], env=env,
                          capture_output=True, text=True, timeout=240, check=False)


def test_the_installed_version_runs_and_its_exit_code_is_the_launchers(tmp_path: Path) -> None:
    assert launcher(tmp_path / "home" / "data" / "app", 3).returncode == 3


def test_restart_to_update_starts_the_staged_version(tmp_path: Path) -> None:
    install = staged(tmp_path)
    done = launcher(install.root.folder, RESTART_EXIT, "--version")  # the installed app asks for a restart
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "farnode 0.2.0"  # applied, self-tested, then run with the same arguments
    assert install.root.read().current == "0.2.0"
