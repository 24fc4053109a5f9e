"""App bundles for the update tests, made the way the frozen build is laid out but from this checkout's sources: a
folder with `farnode` (the entry the installer's shortcut runs, installer/farnode_entry.py, so the launcher runs
first), the package with its version set, and resources/. An installed app (the package's own files) plus a home
whose app folder the launcher keeps, and signed release archives in a real repository."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.app_layout import AppRoot
from farnode_desktop.core.updates.app_release import this_platform
from farnode_desktop.devnet.update_repo import UpdateRepository, publish_app_release

ROOT = Path(__file__).resolve().parents[3]
BROKEN = 'raise RuntimeError("this build cannot start its core")\n'


def make_bundle(folder: Path, version: str, *, broken: bool = False, padding: int = 0) -> Path:
    """A runnable app folder: `folder/farnode` starts this version. `broken`: its core raises on import (a release
    that cannot start); `padding`: extra bytes of incompressible data (a release of realistic size)."""
    shutil.rmtree(folder, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "farnode_desktop", folder / "farnode_desktop", ignore=ignore)
    shutil.copytree(ROOT / "resources", folder / "resources", ignore=ignore)
    shutil.copy(ROOT / "installer" / "farnode_entry.py", folder / "farnode_entry.py")
    init = folder / "farnode_desktop" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "0.1.0"', f'__version__ = "{version}"'))
    assert f'"{version}"' in init.read_text()
    if broken:
        core = folder / "farnode_desktop" / "core" / "app_core.py"
        core.write_text(core.read_text() + BROKEN)
    if padding:
        (folder / "payload.bin").write_bytes(os.urandom(padding))
    entry = folder / "farnode"
    entry.write_text(f'#!/bin/sh\nhere=$(cd "$(dirname "$0")" && pwd)\n'
                     f'PYTHONPATH="$here" exec "{sys.executable}" "$here/farnode_entry.py" "$@"\n')
    entry.chmod(0o755)
    return folder


def archive(bundle: Path, version: str) -> bytes:
    """farnode-VERSION-PLATFORM.tar.gz as installer/build_linux.sh makes it (one top folder)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tf:
        tf.add(bundle, arcname=f"farnode-{version}")
    return out.getvalue()


def publish(repo: UpdateRepository, tmp: Path, version: str, **kwargs: object) -> bytes:
    data = archive(make_bundle(tmp / f"src-{version}", version, **kwargs), version)  # type: ignore[arg-type]
    publish_app_release(repo, data, f"farnode-{version}-{this_platform()}.tar.gz", version, this_platform(),
                        "farnode")
    return data


@dataclass
class Install:
    """The installed app (version `installed`) and the provider's home; `run` starts it as the shortcut does."""

    app: Path
    home: Path
    installed: str

    @property
    def paths(self) -> AppPaths:
        return AppPaths.under(self.home)

    @property
    def root(self) -> AppRoot:
        return AppRoot(self.home / "data" / "app", self.installed)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FARNODE_") or k == "FARNODE_RUNTIME_DIR"}
        return {**env, "FARNODE_HOME": str(self.home), "QT_QPA_PLATFORM": "offscreen"}

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.app / "farnode"), *args], env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([str(self.app / "farnode"), *args], env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def version(self) -> str:
        """The version a start runs now (the launcher chooses, self-tests and rolls back as it would)."""
        done = self.run("--version")
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().removeprefix("farnode ")


def make_install(tmp: Path, installed: str = "0.1.0") -> Install:
    home = tmp / "home"
    AppPaths.under(home).ensure()
    return Install(make_bundle(tmp / "opt-farnode", installed), home, installed)
