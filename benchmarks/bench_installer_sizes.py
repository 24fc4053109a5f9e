"""Sizes of the frozen app bundle and its installers (target: bundle under 120 MiB; the runtime is separate).

Run: .venv/bin/python benchmarks/bench_installer_sizes.py [--reuse build/linux]
Builds with installer/build_linux.sh (unless --reuse points at its output), builds an NSIS installer around
the Linux bundle as a stand-in payload (the Windows bundle is made on Windows: installer/build_windows.ps1),
prints the figures and writes benchmarks/results/installer_sizes.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 120 * 2**20


def du_bytes(path: Path) -> tuple[int, int]:
    """(apparent bytes, bytes on disk) of a folder."""
    apparent = int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])
    disk_kib = int(subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])
    return apparent, disk_kib * 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse", type=Path, help="an existing build_linux.sh output folder")
    args = parser.parse_args()
    out = args.reuse or ROOT / "build" / "bench-installer"
    if args.reuse is None:
        subprocess.run([str(ROOT / "installer" / "build_linux.sh"), "--out", str(out), "--python", sys.executable],
                       check=True)
    bundle = out / "dist" / "farnode"
    built = json.loads((out / "sizes.json").read_text())
    apparent, disk = du_bytes(bundle)
    nsis_out = out / "FarNode-linux-payload-Setup.exe"
    started = time.perf_counter()
    subprocess.run([str(ROOT / "installer" / "build_nsis.sh"), str(bundle), str(nsis_out)], check=True,
                   capture_output=True)
    nsis_s = time.perf_counter() - started
    placeholder = out / "FarNode-placeholder-Setup.exe"
    subprocess.run([str(ROOT / "installer" / "build_nsis.sh"), "", str(placeholder)], check=True, capture_output=True)
    mib = 2**20
    result = {
        "version": built["version"],
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "bundle_apparent_bytes": apparent,
        "bundle_disk_bytes": disk,
        "bundle_apparent_mib": round(apparent / mib, 1),
        "bundle_du_sh": built["bundle_du"],
        "target_mib": TARGET // mib,
        "under_target": apparent < TARGET,
        "tar_gz_bytes": built["tar_gz_bytes"],
        "tar_gz_mib": round(built["tar_gz_bytes"] / mib, 1),
        "deb_bytes": built["deb_bytes"],
        "deb_mib": round(built["deb_bytes"] / mib, 1),
        "nsis_exe_with_linux_bundle_payload_bytes": nsis_out.stat().st_size,
        "nsis_exe_with_linux_bundle_payload_mib": round(nsis_out.stat().st_size / mib, 1),
        "nsis_exe_placeholder_bytes": placeholder.stat().st_size,
        "nsis_compile_seconds": round(nsis_s, 1),
        "freeze_seconds": built["freeze_seconds"],
        "note": "NSIS figure packs the Linux bundle (LZMA solid) as a stand-in; the real Windows bundle is "
                "built on Windows (installer/build_windows.ps1), which prints its own sizes.",
    }
    for key, value in result.items():
        print(f"{key:42} {value}")
    target = ROOT / "benchmarks" / "results" / "installer_sizes.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
