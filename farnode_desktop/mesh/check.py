"""Runtime self-check, run by the node runtime's interpreter: versions, imports through the bridge, as JSON."""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from typing import Any

PACKAGES = ("torch", "hivemind", "petals", "pydantic", "transformers", "tokenizers", "huggingface-hub", "accelerate",
            "bitsandbytes", "peft")


def run_check() -> dict[str, Any]:
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "versions": {},
        "imports": {},
    }
    for name in PACKAGES:
        try:
            report["versions"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            report["versions"][name] = None
    from farnode_desktop.mesh import bridge

    # First a plain `import petals`, no bridge call: the runtime's farmesh.pth hook must bridge hivemind by itself.
    try:
        import petals  # noqa: F401

        report["imports"]["petals without a bridge call"] = (
            "ok" if bridge.is_installed() else "petals imported but the hook did not run the bridge")
    except Exception as exc:
        report["imports"]["petals without a bridge call"] = (
            f"{type(exc).__name__}: {exc} (is farmesh.pth in the runtime's site-packages?)")
    try:
        report["bridge_names_restored"] = bridge.install()
        report["imports"]["bridge"] = "ok"
    except Exception as exc:
        report["imports"]["bridge"] = f"{type(exc).__name__}: {exc}"
    for module in ("torch", "hivemind", "petals", "petals.server.server", "petals.cli.run_server",
                   "farnode_desktop.mesh.client", "farnode_desktop.mesh.serve"):
        try:
            __import__(module)
            report["imports"][module] = "ok"
        except Exception as exc:
            report["imports"][module] = f"{type(exc).__name__}: {exc}"
    try:
        import torch

        report["cuda_available"] = bool(torch.cuda.is_available())
        report["torch_cuda_build"] = torch.version.cuda
    except Exception:  # reported through imports already
        report["cuda_available"] = False
    return report


if __name__ == "__main__":
    print(json.dumps(run_check()))
