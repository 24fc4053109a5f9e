"""The wheels the GPU check carries to the lent image: complete for Python 3.12 with the image's packages, the lock's
versions and hashes, bitsandbytes with only its CUDA 13 library, and small enough to travel with the working tree."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from tests.scripts.conftest import ROOT, device_wheels

dw = device_wheels()


def _tags_fit_cp312(name: str) -> bool:
    python, abi, platform = name[:-4].split("-")[-3:]
    pythons, abis = python.split("."), abi.split(".")
    fits_python = "cp312" in pythons or "py3" in pythons or ("abi3" in abis and any(
        re.fullmatch(r"cp3(\d+)", p) and int(p[3:]) <= 12 for p in pythons))
    fits_abi = bool({"cp312", "abi3", "none"} & set(abis))
    return fits_python and fits_abi and all(p.endswith("x86_64") or p == "any" for p in platform.split("."))


def test_every_carried_package_has_one_wheel_for_python_312_at_the_locks_version(wheels_312: Path) -> None:
    wanted = dw.carried()
    wheels = sorted(wheels_312.glob("*.whl"))
    by_name = {dw.wheel_name(w): w for w in wheels}
    assert len(by_name) == len(wheels) == len(wanted), "one wheel per carried package, no more"
    assert set(by_name) == set(wanted)
    lock = dw.read_lock()
    for name, wheel in by_name.items():
        assert wheel.name.split("-")[1] == wanted[name]
        assert name in dw.APP_SIDE or wanted[name] == lock[name][0]
        assert _tags_fit_cp312(wheel.name), wheel.name
    # the image's own CUDA torch serves: none of the big CUDA wheels travel, and what the node pins differently does
    assert not {"torch", "triton"} & set(wanted) and not any(n.startswith("nvidia-") for n in set(wanted) - set(dw.APP_SIDE))
    assert "hivemind" in wanted and "kernels" in wanted  # kernels: a hard dependency of transformers 5.25
    for name in ("transformers", "huggingface-hub", "tokenizers", "accelerate", "peft"):
        assert wanted[name] == lock[name][0]  # the lock's versions, not the image's (transformers 5.17, hub 1.33)
    assert wanted["transformers"].startswith("5.") and "numpy" not in wanted  # the image's numpy 2 serves


def test_files_the_lock_names_match_its_hashes_and_the_manifest_records_the_rest(wheels_312: Path) -> None:
    manifest = json.loads((wheels_312 / "manifest.json").read_text())
    lock = dw.read_lock()
    checked = 0
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == dw.sha256(wheels_312 / name)
        package = dw.wheel_name(Path(name))
        if package in lock and lock[package][2] == name and package != "bitsandbytes":
            assert entry["checked_against_lock"] and entry["sha256"] == lock[package][1]
            checked += 1
    assert checked >= 20  # the pure-Python and abi3 wheels are the lock's very files


def test_bitsandbytes_keeps_only_its_cpu_and_cuda13_libraries_and_a_consistent_record(wheels_312: Path) -> None:
    wheel = next(wheels_312.glob("bitsandbytes-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        record = zf.read(next(n for n in names if n.endswith(".dist-info/RECORD"))).decode()
    libraries = sorted(n for n in names if n.startswith("bitsandbytes/libbitsandbytes_"))
    assert libraries == ["bitsandbytes/libbitsandbytes_cpu.so", "bitsandbytes/libbitsandbytes_cuda130.so"]
    recorded = {line.split(",", 1)[0] for line in record.splitlines() if line}
    assert recorded == names
    assert wheel.stat().st_size < 8 * 2**20  # 43 MB as published


def test_the_set_resolves_offline_for_python_312_against_the_images_packages(wheels_312: Path) -> None:
    result = dw.resolve(wheels_312, "3.12")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    resolved = [dw.normalize(pin.split("==")[0]) + "==" + pin.split("==")[1]
                for pin in result.stdout.split("RESOLVED ", 1)[1].split()]
    lock = dw.read_lock()
    for pin in ("hivemind==1.1.12", "bitsandbytes==0.50.2", "torch==2.11.0", "cpufeature==0.2.1", "numpy==2.5.2",
                *(f"{name}=={lock[name][0]}" for name in ("transformers", "tokenizers", "huggingface-hub",
                                                          "accelerate", "peft", "safetensors"))):
        assert pin in resolved
    assert "transformers==5.25.0" in resolved
    assert (wheels_312 / "petals-2.2.0.post1-py3-none-any.whl").exists()  # installed with --no-deps, as the lock does


def test_a_set_missing_a_needed_wheel_does_not_resolve(wheels_312: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(wheels_312, partial, ignore=shutil.ignore_patterns("pydantic_core-*"))
    result = dw.resolve(partial, "3.12")
    assert result.returncode != 0
    assert "pydantic-core" in (result.stdout + result.stderr).lower().replace("_", "-")


def _travelling_bytes() -> int:
    """What a device call sends besides the carried folder: tracked files and untracked files git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.split(b"\0")
    return sum(os.path.getsize(ROOT / os.fsdecode(p)) for p in listed if p and (ROOT / os.fsdecode(p)).is_file())


def test_the_set_and_the_working_tree_fit_one_device_call(wheels_312: Path) -> None:
    carried = sum(p.stat().st_size for p in wheels_312.iterdir())
    tree = _travelling_bytes()
    print(f"carried {carried / 2**20:.1f} MiB + working tree {tree / 2**20:.1f} MiB")
    assert carried + tree < dw.LIMIT_BYTES
