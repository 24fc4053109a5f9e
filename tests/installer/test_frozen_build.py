"""The full Linux build: freeze, frozen self-test (real Secret Service), tar.gz and .deb, then the bundle's
layout, its size against the target and the system libraries it relies on (slow: about 2 minutes)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.installer.conftest import INSTALLER, ROOT, need_tools

BUNDLE_TARGET_BYTES = 120 * 1024 * 1024  # the app bundle; the node runtime is provisioned separately


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_tools("dbus-run-session", "gnome-keyring-daemon", "dpkg-deb", "gcc", "readelf")
    out = tmp_path_factory.mktemp("linux-build")
    result = subprocess.run([str(INSTALLER / "build_linux.sh"), "--out", str(out), "--python", sys.executable],
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.keyring
def test_frozen_self_test_passed_inside_the_build(build: Path) -> None:
    report = json.loads((build / "selftest.json").read_text())
    assert report["ok"] is True and report["frozen"] is True
    checks = report["checks"]
    assert checks["keyring"]["backend"] == "keyring.backends.SecretService.Keyring"
    assert checks["qt"]["collation"] == "ok" and checks["qt"]["idna"] == "ok"
    assert checks["devnet"]["state"] == "ok"
    assert checks["updates"]["state"] == "ok" and checks["updates"]["shipped_root_version"] == 1  # TUF, frozen
    # the entry went through the launcher, which started the installed version; the app can update itself
    assert checks["updates"]["launched"] == "installed" and checks["updates"]["app_updates"] is True
    assert checks["cli"]["not_included"] == []
    assert checks["runtime"]["mesh_sources"].endswith("_internal/mesh_src")


@pytest.mark.slow
def test_bundle_ships_the_node_sources_as_files_and_the_resources(build: Path) -> None:
    internal = build / "dist" / "farnode" / "_internal"
    mesh = internal / "mesh_src" / "farnode_desktop" / "mesh"
    source = ROOT / "farnode_desktop/mesh"
    assert {p.relative_to(mesh) for p in mesh.rglob("*.py")} == {
        p.relative_to(source) for p in source.rglob("*.py") if "__pycache__" not in p.parts}
    assert (internal / "mesh_src" / "farnode_desktop" / "__init__.py").is_file()
    for name in ("models.json", "runtime/lock-linux-x86_64.txt", "runtime/lock-linux-x86_64.json",
                 "contracts/FarToken.json", "network/manifest.json", "icons/farnode.svg"):
        assert (internal / "resources" / name).is_file(), name
    # The runtime's interpreter imports the shipped sources with nothing but PYTHONPATH.
    probe = subprocess.run([sys.executable, "-I", "-B", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                            "import farnode_desktop.mesh.status as s; print(s.__file__)", str(internal / "mesh_src")],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip().startswith(str(internal / "mesh_src"))


@pytest.mark.slow
def test_bundle_size_is_reported_and_under_the_target(build: Path) -> None:
    sizes = json.loads((build / "sizes.json").read_text())
    print(f"\nbundle {sizes['bundle_bytes'] / 2**20:.1f} MiB, tar.gz {sizes['tar_gz_bytes'] / 2**20:.1f} MiB, "
          f".deb {sizes['deb_bytes'] / 2**20:.1f} MiB")
    assert sizes["bundle_bytes"] == int(subprocess.run(["du", "-sb", str(build / "dist" / "farnode")],
                                                       capture_output=True, text=True).stdout.split()[0])
    assert sizes["bundle_bytes"] < BUNDLE_TARGET_BYTES, "the app bundle grew past the 120 MiB target"
    assert 0 < sizes["deb_bytes"] < sizes["bundle_bytes"] and 0 < sizes["tar_gz_bytes"] < sizes["bundle_bytes"]
    with tarfile.open(next(build.glob("farnode-*-linux-x86_64.tar.gz"))) as tar:
        names = tar.getnames()
    assert any(n.endswith("/farnode.desktop") for n in names) and any(n.endswith("/_internal") for n in names)


@pytest.mark.slow
def test_every_system_library_comes_from_a_package_the_deb_depends_on(build: Path) -> None:
    need_tools("ldd", "dpkg")
    bundle = build / "dist" / "farnode"
    deb = next(build.glob("farnode_*_amd64.deb"))
    depends = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True,
                             check=True).stdout
    declared = {re.split(r"[ (]", d.strip())[0] for d in depends.replace("|", ",").split(",") if d.strip()}
    missing: set[str] = set()
    system: set[str] = set()
    for path in bundle.rglob("*.so*"):
        if not path.is_file():
            continue
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if "not found" in line:
                missing.add(f"{path.name}: {line.strip()}")
            m = re.search(r"=> (/\S+)", line)
            if m and not m.group(1).startswith(str(bundle)):
                system.add(str(Path(m.group(1)).resolve()))
    assert not missing
    owners: set[str] = set()
    for lib in sorted(system):
        found = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True, check=False).stdout
        if not found:  # merged /usr: dpkg knows the /lib spelling
            found = subprocess.run(["dpkg", "-S", lib.replace("/usr/lib/", "/lib/", 1)], capture_output=True,
                                   text=True, check=False).stdout
        assert found, f"{lib} belongs to no Debian package"
        owners.add(found.split(":")[0])
    assert owners <= declared, f"add to installer/deb/control.in Depends: {sorted(owners - declared)}"


@pytest.mark.slow
def test_deb_unpacks_to_a_working_app(build: Path, tmp_path: Path) -> None:
    deb = next(build.glob("farnode_*_amd64.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    result = subprocess.run([str(tmp_path / "opt/farnode/farnode"), "--version"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0 and result.stdout.strip().startswith("farnode ")
    assert shutil.which("dpkg-deb")
