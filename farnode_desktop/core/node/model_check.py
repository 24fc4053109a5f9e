"""The node runtime's own verdict on a local model folder (`mesh/check_model.py`, run with the runtime's Python and
its transformers), asked once before a folder's first launch and remembered per (folder, config.json's mtime, lock).

The app's stdlib rules (`mesh/models/families.py`) catch most configs the runtime cannot serve; what only the
runtime's transformers can tell (a RoPE variant's value ranges, a field it refuses) would otherwise show up as a
server that crashes at every restart until it "exited unexpectedly".
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.checked_files import loads_bounded, printable, read_json_object
from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.node.host import minimal_env
from farnode_desktop.core.node.runtime import NodeRuntime, mesh_source_root
from farnode_desktop.core.paths import AppPaths

CACHE_FILE = "model-checks.json"
CHECK_TIMEOUT_S = 300.0
_KEEP = 64  # verdicts remembered; older ones are dropped (a changed config gets a new key anyway)


@dataclass(frozen=True)
class ModelVerdict:
    """What the runtime said about one folder: no problems = it can be served."""

    folder: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class ModelChecks:
    """Asks the node runtime whether it can load a model folder, at most once per folder, config and lock."""

    def __init__(self, runtime: NodeRuntime, paths: AppPaths) -> None:
        self.runtime = runtime
        self.cache_file = paths.cache / CACHE_FILE

    def _key(self, folder: Path) -> str:
        config = folder / "config.json"
        return f"{folder}|{config.stat().st_mtime_ns}|{self.runtime.lock_digest()}"

    def _remembered(self) -> dict[str, list[str]]:
        try:
            body = read_json_object(self.cache_file)
        except (OSError, ValueError):
            return {}  # no cache yet, or a damaged one: it only costs one check
        return {k: [str(p) for p in v] for k, v in body.items() if isinstance(v, list)}

    def known(self, folder: Path) -> ModelVerdict | None:
        """The remembered verdict for the folder as it is now, or None when the runtime has not judged it."""
        folder = folder.resolve()
        try:
            problems = self._remembered().get(self._key(folder))
        except OSError:
            return None
        return None if problems is None else ModelVerdict(str(folder), tuple(problems))

    def verdict(self, folder: Path) -> ModelVerdict:
        """The runtime's verdict (remembered, or asked now: a few seconds, once)."""
        folder = folder.resolve()
        found = self.known(folder)
        if found is not None:
            return found
        key = self._key(folder)  # taken before the check: a config changed meanwhile is checked again next time
        problems = self._ask_runtime(folder)
        remembered = self._remembered()
        remembered.pop(key, None)
        remembered[key] = problems
        write_atomic(self.cache_file, json.dumps(dict(list(remembered.items())[-_KEEP:]), indent=1), mode=0o644)
        return ModelVerdict(str(folder), tuple(problems))

    def require(self, folder: Path) -> None:
        """Refuse, with the runtime's own reason, a folder it cannot load."""
        found = self.verdict(folder)
        if not found.ok:
            raise UserInputError(
                f"FarNode cannot serve the model in {found.folder!r}: " + "; ".join(found.problems),
                hint="fix the model's config.json or choose another model; FarMesh serves Llama (2, 3, 3.x), "
                     "Mixtral, Falcon, BLOOM, Qwen3 and Qwen3-MoE models as the runtime's transformers 5 "
                     "loads them")

    def _ask_runtime(self, folder: Path) -> list[str]:
        if not self.runtime.is_installed():
            raise FarNodeError("the node runtime is not installed, so it cannot check the model",
                               hint="run `farnode runtime install`")
        env = minimal_env({"PYTHONPATH": str(mesh_source_root()), "PETALS_IGNORE_DEPENDENCY_VERSION": "1",
                           "HF_HUB_OFFLINE": "1"})
        try:
            result = subprocess.run([str(self.runtime.python), "-m", "farnode_desktop.mesh.check_model", str(folder)],
                                    capture_output=True, text=True, env=env, timeout=CHECK_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FarNodeError(f"the node runtime could not check the model in {str(folder)!r}: {exc}",
                               hint="check the node runtime with `farnode runtime check`") from exc
        try:
            body = loads_bounded(result.stdout.strip().splitlines()[-1])
            problems = body["problems"]
            if not isinstance(problems, list) or bool(body["ok"]) == bool(problems):
                raise ValueError("ok and problems disagree")
        except (ValueError, IndexError, KeyError, TypeError):
            raise FarNodeError(f"the node runtime could not check the model in {str(folder)!r}: "
                               f"{printable(result.stderr.strip()[-300:]) or 'it printed no verdict'}",
                               hint="check the node runtime with `farnode runtime check`") from None
        return [printable(str(p))[:400] for p in problems]


def refuse_unloadable(model: str, paths: AppPaths, runtime: NodeRuntime) -> None:
    """Before a launch: a local model folder the installed runtime cannot load is refused with its reason. A hub
    name is left to the server; with no runtime yet, the supervisor checks once it has installed one."""
    folder = Path(model)
    if folder.is_dir() and runtime.is_installed():
        ModelChecks(runtime, paths).require(folder)
