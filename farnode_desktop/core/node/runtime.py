"""The FarMesh node runtime: a separate Python environment with torch, hivemind and petals, installed from a lock."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.checked_files import read_json_object
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.node import mesh_sources
from farnode_desktop.core.node.host import minimal_env
from farnode_desktop.core.node.mesh_sources import frozen_bundle
from farnode_desktop.core.node.runtime_lock import LOCK_ENV, lock_file

MARKER = "farnode-runtime.json"
# A runtime prepared by a runtime update keeps the verified lock it was installed from (and its metadata) inside it.
OWN_LOCK = "farnode-lock.txt"
REQUIRED_PYTHON = (3, 11)
# Space an install needs (wheels unpack next to the venv): the lock's build is 5.9 GB installed.
NEEDED_BYTES = 9 * 1024**3
# Petals 2.2's own metadata pins what FarMesh deliberately replaces; `pip check` reports these and only these.
KNOWN_PIN_CONFLICTS = (
    re.compile(r"^petals 2\.2\.0\.post1 has requirement hivemind"),
    re.compile(r"^petals 2\.2\.0\.post1 has requirement pydantic"),
    re.compile(r"^petals 2\.2\.0\.post1 has requirement "
               r"(transformers|tokenizers|huggingface-hub|accelerate|bitsandbytes|peft)"),
)

Progress = Callable[[str, int, int], None]  # (message, done, total)
INSTALL_STOPPED = "the node runtime install was stopped; it resumes where it left off next time"
PIP_STOP_GRACE_S = 3.0  # SIGTERM -> SIGKILL for a pip whose install was stopped
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


PETALS_HOOK = "farmesh.pth"  # in the runtime's site-packages; see farnode_desktop/mesh/petals_hook.py


def mesh_source_root() -> Path:
    """The folder on the node runtime's path: the node's code alone (see mesh_sources.mesh_source_root)."""
    return mesh_sources.mesh_source_root()


def _python_minor(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30, check=True, env=minimal_env({})).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def default_base_python() -> str:
    """The Python 3.11 the runtime's venv is made from: $FARNODE_RUNTIME_PYTHON, else this interpreter, else
    (in a frozen app, whose executable is not a Python) the system's python3.11 or a python3 that is 3.11."""
    override = os.environ.get("FARNODE_RUNTIME_PYTHON")
    if override:
        return override
    if frozen_bundle() is None:
        return sys.executable
    for name in ("python3.11", "python3"):
        found = shutil.which(name)
        if found and _python_minor(found) == REQUIRED_PYTHON:
            return found
    return "python3.11"  # not on this system: install() explains that Python 3.11 is needed


@dataclass
class RuntimeReport:
    """What `farnode runtime check` found; `ok` only when every problem list is empty."""

    location: str
    installed: bool
    python: str | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)
    pip_problems: list[str] = field(default_factory=list)
    known_pin_conflicts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cuda_available: bool = False

    @property
    def ok(self) -> bool:
        return self.installed and not self.problems

    def to_json(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        body["ok"] = self.ok
        return body


def _ends_with_its_launcher() -> Callable[[], None] | None:
    """On Linux, a preexec_fn that makes the child get SIGTERM when the thread that launched it ends (the app killed,
    or exited): an install never goes on as an orphan. Only a call into libc, resolved before the fork."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    launcher = os.getpid()
    args = (ctypes.c_int(_PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGTERM), ctypes.c_ulong(0), ctypes.c_ulong(0),
            ctypes.c_ulong(0))

    def arm() -> None:
        prctl(*args)
        if os.getppid() != launcher:  # the launcher died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def _end_when_cancelled(proc: subprocess.Popen[str], cancel: threading.Event) -> None:
    """Terminate pip once `cancel` is set (SIGTERM, SIGKILL after a short grace); returns when pip has ended."""
    while proc.poll() is None:
        if not cancel.wait(0.2):
            continue
        proc.terminate()
        try:
            proc.wait(PIP_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return


class NodeRuntime:
    """Installs and checks the node runtime in `location` (a venv) from a pinned, hash-checked lock."""

    def __init__(self, location: Path, base_python: str | None = None) -> None:
        self.location = location
        self.base_python = base_python or default_base_python()

    @property
    def lock(self) -> Path:
        """$FARNODE_RUNTIME_LOCK, else the verified lock a runtime update installed this runtime from, else the one
        lock the app ships (PyPI's CUDA torch serves a GPU and runs on a CPU). Read each time: a runtime switch
        changes what `location` points to."""
        own = self.location / OWN_LOCK
        if not os.environ.get(LOCK_ENV) and own.is_file():
            return own
        return lock_file()

    @property
    def python(self) -> Path:
        if os.name == "nt":
            return self.location / "Scripts" / "python.exe"
        return self.location / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        if os.name == "nt":
            return self.location / "Lib" / "site-packages"
        return self.location / "lib" / f"python{REQUIRED_PYTHON[0]}.{REQUIRED_PYTHON[1]}" / "site-packages"

    def petals_hook_text(self) -> str:
        """farmesh.pth: puts the node's code alone on the runtime's path (mesh_source_root: not the app's source root,
        whose other packages, metadata and requirements are none of the runtime's business) and makes `import petals`
        or `import hivemind` run the hivemind bridge first in every process of the runtime."""
        return (f"{mesh_source_root()}\n"
                'import sys; exec("try:\\n import farnode_desktop.mesh.petals_hook\\nexcept ImportError:\\n pass")\n')

    def write_petals_hook(self) -> None:
        """(Re)write farmesh.pth when it differs: at install, check and launch, so that a runtime installed by an
        older app, or before the app moved, names this app's node code."""
        if self.site_packages.is_dir():
            path = self.site_packages / PETALS_HOOK
            if not path.exists() or path.read_text() != self.petals_hook_text():
                write_atomic(path, self.petals_hook_text(), mode=0o644)

    def lock_digest(self) -> str:
        return hashlib.sha256(self.lock.read_bytes()).hexdigest()

    def is_installed(self) -> bool:
        """Installed = the marker records this exact lock (a half-finished install has no marker)."""
        try:
            marker = read_json_object(self.location / MARKER, max_bytes=64 * 1024)
        except (OSError, ValueError):  # none yet, or damaged: not installed (an install writes it afresh)
            return False
        return bool(marker.get("lock_sha256") == self.lock_digest() and self.python.exists())

    def ready(self) -> bool:
        """Installed, with its farmesh.pth naming this app's node code (a launch follows: the hook is refreshed)."""
        if not self.is_installed():
            return False
        self.write_petals_hook()
        return True

    # ----- install -----
    def install(self, progress: Progress | None = None, force: bool = False,
                cancel: threading.Event | None = None) -> bool:
        """Create or complete the runtime; returns False when it was already installed (idempotent). Setting
        `cancel` ends pip promptly and raises a plain error; the marker is written only by a finished install."""
        say = progress or (lambda msg, done, total: None)
        cancel = cancel or threading.Event()
        if not self.lock.exists():
            if os.environ.get(LOCK_ENV):
                raise FarNodeError(f"the node runtime lock {self.lock} named by {LOCK_ENV} does not exist",
                                   hint=f"unset {LOCK_ENV} or give the path of a lock file")
            raise FarNodeError(f"no node runtime lock for this platform ({self.lock.name})",
                               hint="this platform is not supported natively; on Windows use the WSL2 backend")
        if self.is_installed() and not force:
            self.write_petals_hook()  # the app may have moved since: the hook names where its mesh code lives
            say("the node runtime is already installed", 1, 1)
            return False
        self._check_python()
        self._check_disk()
        total = sum(1 for line in self.lock.read_text().splitlines() if re.match(r"^[A-Za-z0-9]", line))
        if not self.python.exists():
            say("creating the node runtime's Python environment", 0, total)
            self._run([self.base_python, "-m", "venv", str(self.location)], "create the environment")
        (self.location / MARKER).unlink(missing_ok=True)
        if cancel.is_set():
            raise FarNodeError(INSTALL_STOPPED)
        args = [str(self.python), "-m", "pip", "install", "--no-deps", "--require-hashes", "--progress-bar", "off",
                "--disable-pip-version-check", "-r", str(self.lock)]
        done = 0
        seen: set[str] = set()
        output: list[str] = []
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=minimal_env({"PIP_DISABLE_PIP_VERSION_CHECK": "1"},
                                                keep=("PATH", "HOME", "LANG", "TMPDIR", "PIP_INDEX_URL",
                                                      "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT",
                                                      "PIP_DEFAULT_TIMEOUT", "SSL_CERT_FILE", "HTTPS_PROXY",
                                                      "HTTP_PROXY", "NO_PROXY", "PIP_NO_CACHE_DIR", "PIP_RETRIES",
                                                      "PIP_TIMEOUT", "PIP_CONFIG_FILE", "PIP_CACHE_DIR")),
                                preexec_fn=_ends_with_its_launcher())  # noqa: PLW1509 (only prctl, no locks)
        watcher = threading.Thread(target=_end_when_cancelled, args=(proc, cancel), name="farnode-pip-stop",
                                   daemon=True)
        watcher.start()
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip())
            # registry downloads say "Collecting NAME==V"; files from a local index or folder "Processing PATH"
            m = (re.match(r"^(Collecting|Requirement already satisfied:) (\S+?)(==|\s|$)", line)
                 or re.match(r"^(Processing) \S*?([A-Za-z0-9_.]+?)-\d[^/\s]*\.(whl|tar\.gz|zip)\b", line))
            if m and m.group(2).lower() not in seen:
                seen.add(m.group(2).lower())
                done += 1
                verb = "already there" if m.group(1).startswith("Requirement") else "getting"
                say(f"{verb}: {m.group(2)}", done, total)
            elif line.startswith("Installing collected packages"):
                say("installing packages (this takes a minute)", done, total)
        code = proc.wait()
        proc.stdout.close()  # read to its end: closed here, not left to the collector (a ResourceWarning on screen)
        watcher.join()
        if cancel.is_set():
            raise FarNodeError(INSTALL_STOPPED)
        if code != 0:
            raise self._explain_pip_failure(output)
        self.write_petals_hook()
        report = self.check()
        if not report.ok:
            raise FarNodeError("the node runtime installed but its check failed: " + "; ".join(report.problems),
                               hint="run `farnode runtime install --force` to reinstall it")
        write_atomic(self.location / MARKER, json.dumps(
            {"lock": self.lock.name, "lock_sha256": self.lock_digest(), "installed_at": time.time(),
             "versions": report.versions}, indent=2), mode=0o644)
        say("the node runtime is ready", total, total)
        return True

    def _check_python(self) -> None:
        try:
            out = subprocess.run([self.base_python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                                 capture_output=True, text=True, timeout=60, check=True).stdout.split()
        except (OSError, subprocess.SubprocessError) as exc:
            raise FarNodeError(f"cannot run the Python interpreter {self.base_python!r}: {exc}",
                               hint="install Python 3.11 and set FARNODE_RUNTIME_PYTHON to it") from exc
        found = (int(out[0]), int(out[1]))
        if found != REQUIRED_PYTHON:
            raise FarNodeError(
                f"the node runtime needs Python {REQUIRED_PYTHON[0]}.{REQUIRED_PYTHON[1]}, "
                f"but {self.base_python} is Python {found[0]}.{found[1]}",
                hint="install Python 3.11 and set FARNODE_RUNTIME_PYTHON to its path",
            )

    def _check_disk(self) -> None:
        probe = self.location if self.location.exists() else self.location.parent
        probe.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(probe).free
        needed = NEEDED_BYTES
        if not self.python.exists() and free < needed:
            raise FarNodeError(
                f"not enough disk space for the node runtime: {free / 1024**3:.1f} GB free at {probe}, "
                f"{needed / 1024**3:.0f} GB needed",
                hint="free some disk space, then run the install again (it resumes where it stopped)",
            )

    def _run(self, argv: list[str], what: str) -> None:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise self._explain_pip_failure((result.stdout + result.stderr).splitlines(), what)

    @staticmethod
    def _explain_pip_failure(output: list[str], what: str = "install the node runtime") -> FarNodeError:
        text = "\n".join(output)
        tail = "\n".join(output[-8:])
        if "No space left on device" in text or "Errno 28" in text:
            return FarNodeError(f"could not {what}: the disk is full",
                                hint="free some disk space, then run the install again (it resumes)")
        if re.search(r"Failed to establish a new connection|Temporary failure in name resolution|"
                     r"Could not find a version that satisfies|No matching distribution|"
                     r"Max retries exceeded|ConnectionError|Name or service not known", text):
            return FarNodeError(f"could not {what}: the package registry (PyPI) is unreachable",
                                hint="check the internet connection or proxy settings, then run the install again")
        if "THESE PACKAGES DO NOT MATCH THE HASHES" in text:
            return FarNodeError(f"could not {what}: a downloaded package did not match the lock's hash",
                                hint="this can be a broken download or a tampered mirror; run the install again")
        return FarNodeError(f"could not {what}:\n{tail}", hint="run `farnode runtime install` again; it resumes")

    # ----- check -----
    def check(self) -> RuntimeReport:
        report = RuntimeReport(location=str(self.location), installed=self.python.exists())
        if not report.installed:
            report.problems.append("the node runtime is not installed (run `farnode runtime install`)")
            return report
        self.write_petals_hook()
        # PYTHONSAFEPATH: `-m` would otherwise put the current folder (a checkout, say) first on the path
        env = minimal_env({"PYTHONPATH": str(mesh_source_root()), "PETALS_IGNORE_DEPENDENCY_VERSION": "1",
                           "HF_HUB_OFFLINE": "1", "PYTHONSAFEPATH": "1"})
        result = subprocess.run([str(self.python), "-m", "farnode_desktop.mesh.check"], capture_output=True,
                                text=True, env=env, timeout=300, check=False)
        try:
            body = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            report.problems.append(f"the runtime's self-check did not run: {result.stderr.strip()[-400:]}")
            return report
        report.python = body.get("python")
        report.versions = body.get("versions", {})
        report.imports = body.get("imports", {})
        report.cuda_available = bool(body.get("cuda_available"))
        if report.python and tuple(int(x) for x in report.python.split(".")[:2]) != REQUIRED_PYTHON:
            report.problems.append(f"the runtime's Python is {report.python}, not 3.11")
        report.problems += [f"import {name}: {msg}" for name, msg in report.imports.items() if msg != "ok"]
        expected = self.locked_versions()
        for name, version in expected.items():
            have = report.versions.get(name)
            if name in report.versions and have is not None and have.split("+")[0] != version:
                report.problems.append(f"{name} is {have}, the lock says {version}")
        # the runtime's own packages only: not this app's PYTHONPATH (a checkout with its egg-info, say)
        pip = subprocess.run([str(self.python), "-m", "pip", "check", "--disable-pip-version-check"],
                             capture_output=True, text=True, check=False, env=minimal_env({"PYTHONSAFEPATH": "1"}))
        for line in pip.stdout.splitlines():
            if not line.strip() or line.startswith("No broken requirements"):
                continue
            if any(p.search(line) for p in KNOWN_PIN_CONFLICTS):
                report.known_pin_conflicts.append(line)
            else:
                report.pip_problems.append(line)
        report.problems += [f"pip check: {line}" for line in report.pip_problems]
        return report

    def locked_versions(self) -> dict[str, str]:
        versions: dict[str, str] = {}
        for line in self.lock.read_text().splitlines():
            m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", line)
            if m:
                versions[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
        return versions
