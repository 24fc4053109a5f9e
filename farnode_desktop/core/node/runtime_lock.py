"""Which runtime lock this platform installs, and what its build asks of a GPU (read from the lock's metadata)."""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farnode_desktop.core.errors import FarNodeError

# A path, or a file name in resources/runtime/, that replaces the default lock (tests, a trial of a new lock).
LOCK_ENV = "FARNODE_RUNTIME_LOCK"
PETALS_PIN = "petals==2.2.0.post1"
# The NVIDIA driver each CUDA major version needs. CUDA minor-version compatibility: a 13.x build runs on any
# driver that supports CUDA 13.0 (Linux 580.65, Windows 580.88); NVML reports that support as 13000 or more.
DRIVERS_FOR_CUDA = {13: ("580", 13000), 12: ("525.60", 12000)}


def driver_for_cuda(major: int) -> tuple[str, int]:
    """(the driver branch to ask for, the CUDA version NVML must report) for a CUDA major version."""
    return DRIVERS_FOR_CUDA[major]


def _machine() -> str:
    return platform.machine().lower().replace("amd64", "x86_64")


def unified_lock_name() -> str:
    """The one lock: PyPI's CUDA torch with its CUDA closure, which serves GPUs and also runs on a CPU."""
    return f"lock-linux-{_machine()}.txt"


def runtime_resources() -> Path:
    """resources/runtime/ of a frozen bundle or of the source checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle and (Path(bundle) / "resources" / "runtime").is_dir():
        return Path(bundle) / "resources" / "runtime"
    return Path(__file__).resolve().parents[3] / "resources" / "runtime"


def lock_file() -> Path:
    """$FARNODE_RUNTIME_LOCK, else the one lock: the same build serves a GPU and runs on a CPU."""
    folder = runtime_resources()
    override = os.environ.get(LOCK_ENV)
    if override:
        return Path(override) if os.sep in override else folder / override
    return folder / unified_lock_name()


def metadata_path(lock: Path) -> Path:
    return lock.with_suffix(".json")


def provider_pip_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """pip as a provider's PC runs it: this machine's pip configuration, local wheels and constraints switched off."""
    env = dict(os.environ if base is None else base)
    for name in [k for k in env if k.startswith("PIP_")]:
        if name not in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR"):
            del env[name]
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env


_ARCH = re.compile(r"^(sm|compute)_(\d+)(\d)([af]?)$")


@dataclass(frozen=True)
class RuntimeNeeds:
    """What the locked PyTorch build asks of the driver and which GPU generations its kernels cover."""

    cuda_build: int = 13000
    min_cuda_driver: int = 13000
    min_driver: str = "580"
    # torch.cuda.get_arch_list() of the locked torch: sm_XY = compiled kernels, compute_XY = PTX the driver JITs.
    arch_list: tuple[str, ...] = ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120")
    # bitsandbytes' library for the build's CUDA version (nf4 / int8 quantization), None when the lock has none
    quant_library: str | None = "libbitsandbytes_cuda130.so"
    transformers: str = "5.25.0"  # the locked transformers: which model configs the runtime can load
    source: str = "built-in defaults"

    @property
    def cuda_text(self) -> str:
        return f"{self.cuda_build // 1000}.{(self.cuda_build % 1000) // 10}"

    def covers(self, cc: tuple[int, int]) -> bool:
        """A card runs kernels built for its major version and an equal or lower minor (sm_86 runs on 8.9), or
        PTX for an equal or lower capability; `a`/`f` arch-specific builds run only on their own capability."""
        for arch in self.arch_list:
            m = _ARCH.match(arch)
            if not m:
                continue
            kind, major, minor, special = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
            if special:
                if (major, minor) == cc:
                    return True
            elif kind == "compute":
                if (major, minor) <= cc:
                    return True
            elif major == cc[0] and minor <= cc[1]:
                return True
        return False

    @property
    def min_compute_capability(self) -> tuple[int, int]:
        found = [(int(m.group(2)), int(m.group(3))) for a in self.arch_list if (m := _ARCH.match(a))]
        return min(found) if found else (99, 0)

    @property
    def covered_text(self) -> str:
        caps = sorted({(int(m.group(2)), int(m.group(3))) for a in self.arch_list
                       if (m := _ARCH.match(a)) and m.group(1) == "sm" and not m.group(4)})
        return ", ".join(f"{a}.{b}" for a, b in caps)

    @classmethod
    def from_metadata(cls, body: dict[str, Any], source: str = "") -> RuntimeNeeds:
        return cls(cuda_build=int(body["cuda_build"]), min_cuda_driver=int(body["min_cuda_driver"]),
                   min_driver=str(body["min_driver"]), arch_list=tuple(str(a) for a in body["arch_list"]),
                   quant_library=body.get("bitsandbytes_cuda_library") or None,
                   transformers=str(body["transformers"]),
                   source=source or str(body.get("lock", "")))


def version_tuple(text: str) -> tuple[int, ...]:
    """`4.43.1` -> (4, 43, 1); a suffix such as `.post1` or `+cu130` ends the numbers."""
    release = re.split(r"\+|\.post|\.dev|rc", text, maxsplit=1)[0]
    return tuple(int(p) for p in re.findall(r"\d+", release)[:3])


def read_metadata(lock: Path) -> dict[str, Any]:
    path = metadata_path(lock)
    try:
        body: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FarNodeError(f"the node runtime's lock metadata ({path.name}) cannot be read: {exc}",
                           hint="reinstall FarNode; the file ships beside the lock") from exc
    return body


def runtime_needs(lock: Path | None = None) -> RuntimeNeeds:
    """The GPU build's needs, from the metadata beside the lock (the one every machine installs)."""
    chosen = lock or lock_file()
    return RuntimeNeeds.from_metadata(read_metadata(chosen), source=chosen.name)
