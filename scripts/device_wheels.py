"""Builds the wheels the GPU check's device mode carries to a lent GPU machine that reaches no package registry.

    python scripts/device_wheels.py [--python-version 3.12] [--out build/device-wheels]

The lent machine's image (scripts/gpu_check_image.txt, read off KINDS.md) already holds CUDA torch, triton, the
CUDA libraries and many small packages. The node needs, besides them, what the image lacks or holds in another
version: every package of the node runtime's lock (resources/runtime/lock-linux-x86_64.txt) that the image lacks,
plus those in OWN_VERSION, at the lock's version, plus platformdirs for the app side (its version from the app's
lock). bitsandbytes is repacked with only its CPU and CUDA 13 libraries (the whole wheel is 43 MB). A file that the
lock names (same file name: pure-Python and abi3 wheels) must match the lock's hash; the others (CPython 3.12 builds
of the same versions) have their sha256 recorded in the folder's manifest.json. `--check` builds stub wheels for
the image's packages and resolves the carried set with pip's resolver against them and the folder alone.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "resources" / "runtime" / "lock-linux-x86_64.txt"
APP_LOCK = REPO / "installer" / "build-requirements.txt"
IMAGE = REPO / "scripts" / "gpu_check_image.txt"
DEFAULT_OUT = REPO / "build" / "device-wheels"
# The image holds these in versions other than the lock's, and the node runs on the lock's: transformers 5.17
# (FarMesh's families are ported to and tested on the lock's 5.25), huggingface-hub 1.33 (transformers 5.25 needs
# >= 2.4), tokenizers 0.23.2, accelerate 1.15; peft and protobuf in versions not read (the lock pins peft 0.22;
# hivemind's generated code needs its protobuf); and typing-extensions (pydantic 2.14 needs >= 4.16). numpy is the
# image's own 2.5.2 (the lock has 2.4.6; every locked package takes numpy 2, which the resolve check proves), since
# its 16.6 MB wheel would not fit one device call with the rest.
OWN_VERSION = frozenset({"accelerate", "huggingface-hub", "tokenizers", "transformers", "peft", "protobuf",
                         "typing-extensions"})
# the app's side of the check on the device (gpu_check.py, the CLI, the supervisor): what its core imports beyond
# the standard library and psutil (in the image and in the node runtime), at the app's own locked versions
APP_SIDE = ("platformdirs", "nvidia-ml-py")
# petals 2.2.0.post1's own pins that FarMesh replaces (the lock installs it with --no-deps for this reason)
PETALS_REPLACED = frozenset({"hivemind", "pydantic", "transformers", "tokenizers", "huggingface-hub", "accelerate",
                             "bitsandbytes", "peft"})
BNB_KEEP = re.compile(r"^bitsandbytes/libbitsandbytes_(cpu|cuda130)\.so$")
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (39, 35, 34, 31, 28, 27, 24, 17, 12, 5)] + [
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
LIMIT_BYTES = 64 * 1024**2  # what one device call carries, the working tree included
# PyPI has no CPython 3.12 wheel of these: built here from the sdist for the stable ABI (their C code uses only
# the limited API), so one cp311-abi3 wheel loads in Python 3.11 and 3.12 alike.
BUILT_ABI3 = frozenset({"cpufeature"})


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> dict[str, tuple[str, str, str]]:
    """name -> (version, sha256, file name) from a hashed lock with `# file` comments."""
    found: dict[str, tuple[str, str, str]] = {}
    name = version = digest = ""
    for line in path.read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", line):
            name, version, digest = normalize(m.group(1)), m.group(2), ""
        elif (m := re.search(r"--hash=sha256:([0-9a-f]{64})", line)) and name and not digest:
            digest = m.group(1)
            found[name] = (version, digest, "")
        elif (m := re.match(r"^\s+# (\S+\.(?:whl|tar\.gz|zip))\s*$", line)) and name:
            found[name] = (version, digest, m.group(1))
    return found


def lock_hashes(path: Path) -> dict[str, set[str]]:
    """name -> every sha256 the lock allows for it (a lock made by pip-compile lists the wheel's and the sdist's)."""
    found: dict[str, set[str]] = {}
    name = ""
    for line in path.read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", line):
            name = normalize(m.group(1))
        found.setdefault(name, set()).update(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    return found


def read_image(path: Path = IMAGE) -> dict[str, str | None]:
    """The lent image's packages: name -> version where it was read, else None."""
    image: dict[str, str | None] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            image[normalize(name)] = version or None
    return image


def carried() -> dict[str, str]:
    """name -> version of every wheel the device mode carries."""
    lock, image = read_lock(), read_image()
    names = {n: v for n, (v, _, _) in lock.items() if n not in image or n in OWN_VERSION}
    app = read_lock(APP_LOCK)
    names.update({n: app[n][0] for n in APP_SIDE})
    return dict(sorted(names.items()))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def repack_bitsandbytes(wheel: Path) -> None:
    """Keep only the CPU and CUDA 13 libraries; RECORD loses the dropped files' lines and stays consistent."""
    src = zipfile.ZipFile(wheel)
    dropped = {n for n in src.namelist() if n.startswith("bitsandbytes/libbitsandbytes_") and not BNB_KEEP.match(n)}
    buffer = io.BytesIO()
    with src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in dropped:
                continue
            data = src.read(info.filename)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = [ln for ln in data.decode().splitlines() if ln.split(",", 1)[0] not in dropped]
                data = ("\n".join(lines) + "\n").encode()
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    wheel.write_bytes(buffer.getvalue())


def build_abi3(name: str, version: str, out: Path) -> Path:
    """Build `name` from its sdist as a cp311-abi3 wheel (Py_LIMITED_API 3.11) into `out`; returns the sdist."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--no-binary=:all:", "-d", tmp, f"{name}=={version}"], check=True)
        sdist = next(Path(tmp).glob("*.tar.gz"))
        shutil.unpack_archive(sdist, tmp)
        source = next(p for p in Path(tmp).iterdir() if p.is_dir())
        setup = source / "setup.py"
        text = setup.read_text().replace("def_macros = []", 'def_macros = [("Py_LIMITED_API", "0x030B0000")]')
        text = text.replace("extra_compile_args=CFLAGS )", "extra_compile_args=CFLAGS, py_limited_api=True )")
        if "py_limited_api=True" not in text or "0x030B0000" not in text:
            raise SystemExit(f"{name} {version}: its setup.py is not the one this build knows how to adapt")
        setup.write_text(text)
        subprocess.run([sys.executable, "setup.py", "-q", "bdist_wheel", "--py-limited-api", "cp311", "-d",
                        str(out)], cwd=source, check=True, capture_output=True)
        kept = out / sdist.name
        shutil.copy(sdist, kept)
        return kept


def build_pure(name: str, version: str, digest: str, out: Path) -> Path:
    """A pure-Python package the lock takes as an sdist: its wheel, built here from the hash-checked sdist."""
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "req.txt"
        req.write_text(f"{name}=={version} --hash=sha256:{digest}\n")
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
                        "--require-hashes", "--no-binary=:all:", "-w", tmp, "-r", str(req)], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        if not wheel.name.endswith("-none-any.whl"):
            raise SystemExit(f"{wheel.name} is not pure Python: it cannot be built here for another Python")
        return Path(shutil.copy(wheel, out))


def pip_download(names: dict[str, str], out: Path, python_version: str) -> None:
    args = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
            "--only-binary=:all:", "--python-version", python_version, "--implementation", "cp", "-d", str(out)]
    for platform in PLATFORMS:
        args += ["--platform", platform]
    subprocess.run(args + [f"{n}=={v}" for n, v in names.items()], check=True)


def wheel_name(path: Path) -> str:
    return normalize(path.name.split("-", 1)[0])


def build(out: Path, python_version: str = "3.12") -> dict[str, object]:
    """Download, verify and repack into `out` (emptied first); returns the manifest it writes."""
    out = out.resolve()
    names = carried()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    lock = {**read_lock(APP_LOCK), **read_lock()}
    hashes = {**lock_hashes(APP_LOCK), **lock_hashes(LOCK)}
    sdists = {n for n in names if lock[n][2].endswith(".tar.gz")}
    pip_download({n: v for n, v in names.items() if n not in BUILT_ABI3 | sdists}, out, python_version)
    sources: dict[str, dict[str, str]] = {}
    for name in sorted(sdists - BUILT_ABI3):
        built = build_pure(name, names[name], lock[name][1], out)
        sources[name] = {"sdist": lock[name][2], "sha256": lock[name][1], "wheel": built.name}
    for name in sorted(BUILT_ABI3 & set(names)):
        sdist = build_abi3(name, names[name], out)
        sources[name] = {"sdist": sdist.name, "sha256": sha256(sdist)}
        sdist.unlink()
    files: dict[str, dict[str, object]] = {}
    for wheel in sorted(out.glob("*.whl")):
        name = wheel_name(wheel)
        _, locked_hash, locked_file = lock[name]
        digest = sha256(wheel)
        same_file = locked_file == wheel.name
        if same_file and digest != locked_hash:
            raise SystemExit(f"{wheel.name}: sha256 {digest} is not the lock's {locked_hash}")
        in_lock = digest in hashes.get(name, set())
        if name in APP_SIDE and not in_lock:
            raise SystemExit(f"{wheel.name}: sha256 {digest} is none of the app lock's for {name}")
        entry: dict[str, object] = {"sha256": digest, "checked_against_lock": in_lock}
        if name in sources:
            entry["built_from"] = sources[name]
        if name == "bitsandbytes":
            repack_bitsandbytes(wheel)
            entry.update(repacked_from=digest, sha256=sha256(wheel), kept="libbitsandbytes_cpu.so, _cuda130.so")
        entry["bytes"] = wheel.stat().st_size
        files[wheel.name] = entry
    missing = set(names) - {wheel_name(Path(f)) for f in files}
    if missing:
        raise SystemExit(f"no wheel was downloaded for {sorted(missing)}")
    manifest = {"python_version": python_version, "packages": names, "files": files,
                "bytes": sum(int(str(e["bytes"])) for e in files.values())}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def stub_wheel(folder: Path, name: str, version: str) -> None:
    """A wheel with metadata only: stands for a package the image already holds."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: farnode\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{dist}.dist-info/RECORD"] = "".join(f"{p},,\n" for p in files) + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)


def petals_requirements(folder: Path) -> list[str]:
    """petals' own requirements less the pins FarMesh replaces (those come from the carried set's pins)."""
    wheel = next(folder.glob("petals-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    found = []
    for line in meta.splitlines():
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            req = line.split(":", 1)[1].split(";")[0].strip()
            if normalize(re.split(r"[\s<>=!~(\[]", req, maxsplit=1)[0]) not in PETALS_REPLACED:
                found.append(req.replace(" ", ""))
    return found


def resolve(folder: Path, python_version: str = "3.12") -> subprocess.CompletedProcess[str]:
    """pip's resolver, offline: the carried wheels plus stubs of the image's packages must satisfy every need of the
    node (petals' own requirements included, less the pins FarMesh replaces) for `python_version`."""
    lock = read_lock()
    names = carried()
    with tempfile.TemporaryDirectory() as tmp:
        stubs = Path(tmp) / "image"
        stubs.mkdir()
        for name, version in read_image().items():
            if name not in names:  # what the image holds and the node uses from it
                stub_wheel(stubs, name, version or (lock[name][0] if name in lock else "0"))
        wanted = [f"{n}=={v}" for n, v in names.items() if n != "petals"] + petals_requirements(folder)
        args = [sys.executable, "-m", "pip", "install", "--dry-run", "--disable-pip-version-check", "--no-index",
                "--find-links", str(folder), "--find-links", str(stubs), "--python-version", python_version,
                "--implementation", "cp", "--only-binary=:all:", "--ignore-installed", "--target",
                str(Path(tmp) / "target"), "--report", str(Path(tmp) / "report.json")]
        for platform in PLATFORMS:
            args += ["--platform", platform]
        result = subprocess.run(args + wanted, capture_output=True, text=True, check=False)
        if result.returncode == 0:
            report = json.loads((Path(tmp) / "report.json").read_text())
            chosen = sorted(f"{i['metadata']['name']}=={i['metadata']['version']}" for i in report["install"])
            result.stdout += "\nRESOLVED " + " ".join(chosen) + "\n"
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--python-version", default="3.12", help="3.12 for the lent image; 3.11 for the CPU form")
    parser.add_argument("--check", action="store_true", help="resolve the folder's set offline (builds nothing)")
    args = parser.parse_args()
    if args.check:
        result = resolve(args.out, args.python_version)
        print(result.stdout[-3000:], result.stderr[-3000:])
        sys.exit(result.returncode)
    manifest = build(args.out, args.python_version)
    files = manifest["files"]
    assert isinstance(files, dict)
    print(f"{len(files)} wheels, {int(str(manifest['bytes'])) / 2**20:.1f} MiB in {args.out}")


if __name__ == "__main__":
    main()
