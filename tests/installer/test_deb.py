"""The .deb recipe: built with dpkg-deb from a small staged bundle, unpacked into a temporary root."""

from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path

import pytest

from tests.installer.conftest import INSTALLER, need_tools


@pytest.fixture
def tiny_bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "farnode"
    (bundle / "_internal" / "mesh_src" / "farnode_desktop" / "mesh").mkdir(parents=True)
    exe = bundle / "farnode"
    exe.write_text("#!/bin/sh\necho 'farnode 0.0.1'\n")
    exe.chmod(0o700)  # the builder's tight mode must not leak into the package
    (bundle / "_internal" / "mesh_src" / "farnode_desktop" / "mesh" / "serve.py").write_text("# serve\n")
    return bundle


def _build(bundle: Path, out: Path) -> Path:
    need_tools("dpkg-deb")
    deb = out / "farnode_0.0.1_amd64.deb"
    result = subprocess.run([str(INSTALLER / "deb" / "build_deb.sh"), str(bundle), "0.0.1", str(deb)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return deb


def test_deb_installs_the_app_entry_icon_and_wrapper(tiny_bundle: Path, tmp_path: Path) -> None:
    deb = _build(tiny_bundle, tmp_path)
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)

    exe = root / "opt" / "farnode" / "farnode"
    assert exe.stat().st_mode & 0o777 == 0o755
    assert (root / "opt/farnode/_internal/mesh_src/farnode_desktop/mesh/serve.py").stat().st_mode & 0o777 == 0o644
    wrapper = root / "usr" / "bin" / "farnode"
    assert os.access(wrapper, os.X_OK)
    assert 'exec /opt/farnode/farnode "$@"' in wrapper.read_text()

    entry = configparser.ConfigParser(interpolation=None)
    entry.read(root / "usr/share/applications/farnode.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"].split()[0] == "farnode" and desktop["Type"] == "Application"
    assert (root / f"usr/share/icons/hicolor/256x256/apps/{desktop['Icon']}.png").read_bytes()[:4] == b"\x89PNG"
    assert (root / f"usr/share/icons/hicolor/scalable/apps/{desktop['Icon']}.svg").exists()
    # Autostart is offered per user, never switched on for everyone.
    assert (root / "usr/share/farnode/autostart/farnode.desktop").exists()
    assert not (root / "etc/xdg/autostart").exists()


def test_deb_control_declares_what_first_launch_needs(tiny_bundle: Path, tmp_path: Path) -> None:
    deb = _build(tiny_bundle, tmp_path)
    fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends", "Installed-Size"],
                            capture_output=True, text=True, check=True).stdout
    assert "Package: farnode" in fields and "Version: 0.0.1" in fields
    for dependency in ("python3 (>= 3.11)", "python3-venv", "libxcb-cursor0", "libegl1"):
        assert dependency in fields
    contents = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    assert all(" root/root " in line for line in contents.splitlines())  # --root-owner-group


def test_deb_installs_into_a_private_dpkg_root(tiny_bundle: Path, tmp_path: Path) -> None:
    deb = _build(tiny_bundle, tmp_path)
    need_tools("dpkg")
    root = tmp_path / "dpkgroot"
    (root / "var/lib/dpkg/updates").mkdir(parents=True)
    (root / "var/lib/dpkg/info").mkdir()
    (root / "var/lib/dpkg/status").write_text("")
    result = subprocess.run(
        ["dpkg", f"--root={root}", "--force-depends", "--force-not-root", "--force-script-chrootless",
         "--log=/dev/null", "-i", str(deb)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    status = (root / "var/lib/dpkg/status").read_text()
    assert "Package: farnode" in status and "Status: install ok installed" in status
    listed = (root / "var/lib/dpkg/info/farnode.list").read_text().splitlines()
    assert "/opt/farnode/farnode" in listed and "/usr/share/applications/farnode.desktop" in listed
    run = subprocess.run([str(root / "opt/farnode/farnode")], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "farnode 0.0.1"


def test_a_missing_bundle_is_refused(tmp_path: Path) -> None:
    need_tools("dpkg-deb")
    result = subprocess.run([str(INSTALLER / "deb" / "build_deb.sh"), str(tmp_path / "nothing"), "0.0.1",
                             str(tmp_path / "x.deb")], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "not an executable bundle" in result.stderr
    assert not (tmp_path / "x.deb").exists()
