"""Builds the old Petals client environments that tests/integration/test_old_clients.py runs against a FarNode node.

    python scripts/old_clients.py setup [NAME...]   # create (or reuse) the environments; prints {name: python}
    python scripts/old_clients.py lock [NAME...]    # re-resolve tests/fixtures/old-clients/NAME.in into NAME.txt

Two environments, each its own venv under .farnode-test/old-clients/NAME-HASH/ (HASH: of everything that goes into
it, so a changed lock makes a new one and the old one is removed; an existing complete one is reused):
- `petals-2.2`: petals 2.2.0.post1 from PyPI with transformers 4.34.1 and a genuine hivemind 1.1.10.post2, built
  from PyPI's sdist. That sdist's setup.py downloads p2pd v0.3.18 from GitHub, which this machine cannot reach:
  the build is given instead the p2pd of hivemind 1.1.12's wheel (v0.5.0.hivemind1, the one Petals main's hivemind
  pins), with the one line of setup.py that names the expected sha256 changed to that binary's; nothing else of
  hivemind changes. hivemind 1.1.10.post2 imports a name torch 2.3 moved (`_refresh_per_optimizer_state`):
  old_client_compat.py puts it back (no torch < 2.3 CPU wheel is reachable here).
- `petals-main`: Petals main (22afba6) installed --no-deps from tests/fixtures/petals-main-22afba6/src with
  transformers 4.43.1 and hivemind 1.1.12, whose top level no longer re-exports what Petals imports:
  old_client_compat.py restores those names.
Everything comes from the package registry through pip (its cache and this machine's configuration, which holds
the CPU torch), hash-checked except torch (tests/fixtures/old-clients/torch.txt says why). Nothing of FarNode is
installed into them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "old-clients"
PETALS_MAIN = REPO / "tests" / "fixtures" / "petals-main-22afba6"
HOME = REPO / ".farnode-test" / "old-clients"
TORCH = FIXTURES / "torch.txt"
COMPAT = FIXTURES / "old_client_compat.py"
HIVEMIND_SDIST = FIXTURES / "hivemind-1.1.10.post2-sdist.txt"
P2PD_WHEEL = FIXTURES / "hivemind-1.1.12-p2pd.txt"
# setup.py of hivemind 1.1.10.post2: the sha256 it expects of p2pd-linux-amd64 (v0.3.18 from GitHub)
P2PD_LINE = '"p2pd-linux-amd64": "a9d456006e915d3cbbc8e5e9902d5b1a3120235f317e113137d6b631e2c810ac"'
# what each environment's .pth asks old_client_compat.install() to restore
COMPAT_PARTS = {"petals-2.2": "torch-grad-scaler", "petals-main": "hivemind-namespaces"}
NAMES = tuple(COMPAT_PARTS)
SCHEME = "1"  # bump when the way an environment is built changes


class SetupError(RuntimeError):
    """An environment could not be built; the message says what failed."""


def _inputs(name: str) -> list[Path]:
    files = [TORCH, FIXTURES / f"{name}.txt", COMPAT]
    if name == "petals-2.2":
        files += [HIVEMIND_SDIST, P2PD_WHEEL]
    else:
        files += sorted((PETALS_MAIN / "src").rglob("*.py"))
    return files


def env_dir(name: str) -> Path:
    digest = hashlib.sha256(SCHEME.encode())
    for path in _inputs(name):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    return HOME / f"{name}-{digest.hexdigest()[:12]}"


def _run(argv: list[str], what: str, cwd: Path | None = None, timeout: float = 1800) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False)
    if result.returncode != 0:
        raise SetupError(f"{what} failed (exit {result.returncode}):\n{(result.stderr or result.stdout)[-3000:]}")
    return result.stdout


def _pip(python: Path, *args: str, what: str, cwd: Path | None = None) -> str:
    return _run([str(python), "-m", "pip", "--no-input", *args], what, cwd=cwd)


def _build_hivemind_1_1_10(python: Path, work: Path) -> Path:
    """hivemind 1.1.10.post2's wheel from PyPI's sdist, with hivemind 1.1.12's p2pd in place of GitHub's."""
    _pip(python, "download", "--quiet", "--no-deps", "--no-build-isolation", "--require-hashes", "-r",
         str(HIVEMIND_SDIST), "-d", str(work / "sdist"), what="downloading hivemind 1.1.10.post2's sdist")
    _pip(python, "download", "--quiet", "--no-deps", "--require-hashes", "-r", str(P2PD_WHEEL), "-d",
         str(work / "p2pd"), what="downloading hivemind 1.1.12's wheel (for its p2pd)")
    (sdist,) = (work / "sdist").glob("hivemind-1.1.10.post2.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "src", filter="data")
    source = work / "src" / "hivemind-1.1.10.post2"
    (wheel,) = (work / "p2pd").glob("hivemind-1.1.12-*.whl")
    binary = source / "hivemind" / "hivemind_cli" / "p2pd"
    with zipfile.ZipFile(wheel) as archive:
        binary.write_bytes(archive.read("hivemind/hivemind_cli/p2pd"))
    binary.chmod(0o755)
    setup_py = source / "setup.py"
    text = setup_py.read_text()
    if P2PD_LINE not in text:
        raise SetupError("hivemind 1.1.10.post2's setup.py does not name the p2pd hash this script replaces")
    actual = hashlib.sha256(binary.read_bytes()).hexdigest()
    setup_py.write_text(text.replace(P2PD_LINE, f'"p2pd-linux-amd64": "{actual}"'))
    _pip(python, "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(source), "-w", str(work / "wheel"),
         what="building hivemind 1.1.10.post2")
    (built,) = (work / "wheel").glob("hivemind-1.1.10.post2-*.whl")
    return built


def _install(name: str, target: Path) -> None:
    _run([sys.executable, "-m", "venv", str(target)], f"creating the {name} venv")
    python = target / "bin" / "python"
    _pip(python, "install", "--quiet", "--no-deps", "-r", str(TORCH), what=f"installing torch into {name}")
    _pip(python, "install", "--quiet", "--no-deps", "--require-hashes", "-r", str(FIXTURES / f"{name}.txt"),
         what=f"installing {name}'s locked packages")
    with tempfile.TemporaryDirectory() as tmp:
        if name == "petals-2.2":
            wheel = _build_hivemind_1_1_10(python, Path(tmp))
            _pip(python, "install", "--quiet", "--no-deps", str(wheel), what="installing hivemind 1.1.10.post2")
        else:  # Petals main from its source, as `pip install git+...@22afba6` would (its setup.cfg and pyproject)
            source = Path(tmp) / "petals"
            shutil.copytree(PETALS_MAIN / "src", source / "src")
            for extra in ("setup.cfg", "pyproject.toml", "LICENSE"):
                shutil.copy(PETALS_MAIN / extra, source / extra)
            (source / "README.md").write_text("Petals main (22afba6)\n")
            _pip(python, "install", "--quiet", "--no-deps", "--no-build-isolation", str(source),
                 what="installing Petals main from its source")
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     "finding site-packages").strip())
    shutil.copy(COMPAT, site / COMPAT.name)
    part = COMPAT_PARTS[name]
    (site / "old_client_compat.pth").write_text(f"import old_client_compat; old_client_compat.install({part!r})\n")


def ensure(name: str) -> Path:
    """The environment `name` (built now if absent); returns its Python."""
    target = env_dir(name)
    python = target / "bin" / "python"
    if (target / "complete").exists():
        return python
    for old in HOME.glob(f"{name}-*"):
        shutil.rmtree(old, ignore_errors=True)
    started = time.monotonic()
    try:
        _install(name, target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    (target / "complete").write_text(json.dumps({"seconds": round(time.monotonic() - started, 1)}))
    return python


def lock(name: str) -> None:
    """Resolve NAME.in (with torch.txt) with pip's resolver, dry run, and write NAME.txt: every package pinned
    with the sha256 of its file, torch and the locally built hivemind left out (they are installed apart)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        extra: list[str] = []
        if name == "petals-2.2":  # the resolver needs hivemind 1.1.10.post2's metadata: build it as setup does
            _run([sys.executable, "-m", "venv", str(work / "b")], "creating a build venv")
            python = work / "b" / "bin" / "python"
            _pip(python, "install", "--quiet", "setuptools==80.9.0", "wheel==0.42.0", "grpcio-tools==1.59.3",
                 what="installing the build tools")
            extra = ["--find-links", str(_build_hivemind_1_1_10(python, work).parent)]
        report = work / "report.json"
        _pip(Path(sys.executable), "install", "--quiet", "--dry-run", "--ignore-installed", "--report", str(report),
             *extra, "-r", str(TORCH), "-r", str(FIXTURES / f"{name}.in"), what=f"resolving {name}")
        lines = []
        for item in json.loads(report.read_text())["install"]:
            meta, info = item["metadata"], item["download_info"]
            package = re.sub(r"[-_.]+", "-", meta["name"]).lower()
            if package == "torch" or (package == "hivemind" and name == "petals-2.2"):
                continue
            sha = info.get("archive_info", {}).get("hashes", {}).get("sha256")
            if not sha:
                raise SetupError(f"no sha256 for {package} ({info['url']})")
            lines.append(f"{package}=={meta['version']} --hash=sha256:{sha}")
    head = (f"# Generated by `python scripts/old_clients.py lock {name}` from {name}.in (do not edit): the whole\n"
            "# closure but torch (torch.txt)" + (" and hivemind (built from its sdist)" if name == "petals-2.2" else "")
            + ", each file's sha256 as PyPI serves it.\n")
    (FIXTURES / f"{name}.txt").write_text(head + "\n".join(sorted(lines)) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("setup", "lock"))
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"some of {', '.join(NAMES)} (default: all)")
    args = parser.parse_args()
    if unknown := set(args.names) - set(NAMES):
        parser.error(f"no old client named {', '.join(sorted(unknown))} (there are {', '.join(NAMES)})")
    try:
        if args.command == "lock":
            for name in args.names or NAMES:
                lock(name)
            return
        print(json.dumps({name: str(ensure(name)) for name in args.names or NAMES}))
    except SetupError as error:
        print(f"old clients: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
