"""Makes the GPU check's node runtime over a Python that already holds torch (the lent image's /opt/torch/.venv).

    BASE_PYTHON scripts/gpu_check_overlay.py RUNTIME_DIR WHEELS_DIR

Run by the base Python itself: a venv in RUNTIME_DIR whose own site-packages hold the carried wheels (installed
offline, --no-index, from WHEELS_DIR, built by scripts/device_wheels.py) and which sees the base's packages after
its own (a .pth that adds the base's site-packages), so CUDA torch comes from the image and the lock's transformers,
hivemind and petals from the wheels. Then the runtime's Petals hook and the marker that says it is installed for the
lock (the app's own NodeRuntime writes both), so the supervisor, the CLI and the benchmarks use it as they are.
The app side (CLI, supervisor, benchmarks) runs in RUNTIME_DIR/bin/app-python: the base Python with the app's
source and its own few packages (platformdirs, nvidia-ml-py) first on the path, since the overlay's own Python puts
the node's code alone on its path (farmesh.pth), not the app's.
Prints one JSON line: the base, its Python, the site-packages, the wheels installed and where the node's packages
are found.
"""

from __future__ import annotations

import json
import site
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# where the node's packages come from in the overlay (found, not imported): torch from the base, the rest carried
ORIGINS_CODE = """import importlib.util, json
names = ("torch", "numpy", "transformers", "tokenizers", "hivemind", "petals", "bitsandbytes", "pydantic")
print(json.dumps({n: str(getattr(importlib.util.find_spec(n), "origin", None)) for n in names}))"""
APP_SIDE = ("platformdirs", "nvidia-ml-py")  # the app's core needs them (scripts/device_wheels.py carries them)
BASE_PTH = "zz_farnode_device_image.pth"  # processed last: the base's packages come after the carried ones


class OverlayRuntime:
    """Where the overlay's pieces go; the hook and marker themselves come from the app's NodeRuntime."""

    def __init__(self, location: Path) -> None:
        self.location = location
        version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        self.site_packages = location / "lib" / version / "site-packages"
        self.python = location / "bin" / "python"
        self.app_side = location / "app-side"
        self.app_python = location / "bin" / "app-python"


def create(location: Path, wheels: Path) -> dict[str, object]:
    started = time.monotonic()
    found = sorted(wheels.glob("*.whl"))
    if not found:
        raise SystemExit(f"no wheels in {wheels}: build them with `python scripts/device_wheels.py`")
    overlay = OverlayRuntime(location)
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(location)
    # every site folder the base sees (its venv's, and the system's where the venv includes them), in its order
    bases = list(dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"]]))
    overlay.site_packages.mkdir(parents=True, exist_ok=True)
    (overlay.site_packages / BASE_PTH).write_text(
        "".join(f"import site; site.addsitedir({base!r})\n" for base in bases))
    pip = subprocess.run([str(overlay.python), "-m", "pip", "install", "--no-index", "--find-links", str(wheels),
                          "--no-deps", "--ignore-installed", "--no-compile", "--disable-pip-version-check", "-q",
                          *map(str, found)], capture_output=True, text=True, check=False)
    if pip.returncode != 0:
        raise SystemExit(f"pip could not install the carried wheels:\n{pip.stdout[-2000:]}\n{pip.stderr[-3000:]}")
    app = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels),
                          "--no-deps", "--no-compile", "--disable-pip-version-check", "-q", "--target",
                          str(overlay.app_side), *APP_SIDE], capture_output=True, text=True, check=False)
    if app.returncode != 0:
        raise SystemExit(f"pip could not install the app side's packages:\n{app.stderr[-3000:]}")
    overlay.app_python.write_text(f"""#!/bin/sh
# The app side of the GPU check on the lent image (the CLI, the supervisor, the benchmarks): the base Python with
# the app's source and its few own packages first on the path; the node runtime is {location}/bin/python.
PYTHONPATH="{REPO}:{overlay.app_side}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" "$@"
""")
    overlay.app_python.chmod(0o755)
    finish = subprocess.run([str(overlay.app_python), __file__, "--finish", str(location), *map(str, found)],
                            capture_output=True, text=True, check=False, cwd=REPO)
    if finish.returncode != 0:
        raise SystemExit(f"the overlay's hook and marker could not be written:\n{finish.stderr[-3000:]}")
    where = subprocess.run([str(overlay.python), "-c", ORIGINS_CODE], capture_output=True, text=True, check=False)
    return {"base_python": sys.executable, "python": sys.version.split()[0], "bases": bases,
            "site_packages": str(overlay.site_packages), "wheels": len(found), "app_python": str(overlay.app_python),
            "origins": json.loads(where.stdout.strip().splitlines()[-1]) if where.returncode == 0 else where.stderr,
            "seconds": round(time.monotonic() - started, 1)}


def finish(location: Path, wheels: list[str]) -> None:
    """In the app side's Python: the app's Petals hook in the overlay's site-packages, and the marker that makes
    NodeRuntime see the runtime as installed."""
    sys.path.insert(0, str(REPO))
    from farnode_desktop.core.node.runtime import MARKER, NodeRuntime

    overlay = OverlayRuntime(location)

    class Overlaid(NodeRuntime):
        """The app's runtime, its site-packages this Python's (the app's own is for Python 3.11)."""

        @property
        def site_packages(self) -> Path:
            return overlay.site_packages

    runtime = Overlaid(location)
    runtime.write_petals_hook()  # the app's own hook (where its mesh code lives)
    (location / MARKER).write_text(json.dumps(
        {"lock": runtime.lock.name, "lock_sha256": runtime.lock_digest(), "installed_at": time.time(),
         "device_image": {"python": sys.version.split()[0], "wheels": wheels}}, indent=2))
    if not NodeRuntime(location).is_installed():
        raise SystemExit(f"the overlay in {location} is not seen as installed by NodeRuntime")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--finish":
        finish(Path(sys.argv[2]), [Path(w).name for w in sys.argv[3:]])
        return
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(json.dumps(create(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())))


if __name__ == "__main__":
    main()
