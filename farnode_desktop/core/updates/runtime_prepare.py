"""Preparing a new node runtime beside the current one while the nodes serve on: disk space checked first, a
hard-link clone of the current runtime, then pip changes only the packages the new lock changes (pip's cache
reused), `runtime check`, and a real node serving the tiny model from it on loopback must answer a request."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from farnode_desktop.core.atomic import write_atomic
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import EventBus
from farnode_desktop.core.node.factory import TINY_DEMO, local_spec, make_supervisor
from farnode_desktop.core.node.runtime import MARKER, OWN_LOCK, NodeRuntime, Progress
from farnode_desktop.core.node.runtime_versions import READY, RuntimeVersions, clone_tree, relocate, version_id
from farnode_desktop.core.node.status import NodeState
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.words import packages

CLONE_BYTES = 512 * 1024**2  # the clone's folders and links, pip's unpacking: a floor under any estimate
UNKNOWN_PACKAGE_BYTES = 1024**3  # a package the current runtime does not have: its installed size is not known
TRIAL_NODE = "runtime-trial"
TRIAL_TIMEOUT_S = 300.0
Trial = Callable[[NodeRuntime], None]  # raises FarNodeError when the runtime cannot serve
DiskFree = Callable[[Path], int]


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def pins(lock_text: str) -> dict[str, str]:
    """name -> `name==version --hash ...` (one entry per requirement, continuation lines joined)."""
    joined = re.sub(r"\\\s*\n\s*", " ", lock_text)
    found: dict[str, str] = {}
    for line in joined.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.strip())
        if m:
            found[_name(m.group(1))] = " ".join(sorted(line.split()))
    return found


def lock_changes(old: str, new: str) -> tuple[list[str], list[str]]:
    """(packages the new lock adds or pins differently, packages it drops), by normalised name."""
    before, after = pins(old), pins(new)
    return sorted(n for n, pin in after.items() if before.get(n) != pin), sorted(set(before) - set(after))


def installed_bytes(site_packages: Path) -> dict[str, int]:
    """Installed size of each package of a runtime, from its dist-info RECORD (name -> bytes)."""
    sizes: dict[str, int] = {}
    for record in site_packages.glob("*.dist-info/RECORD"):
        name = _name(record.parent.name.rsplit("-", 1)[0])
        total = 0
        for line in record.read_text(errors="replace").splitlines():
            parts = line.rsplit(",", 2)
            if len(parts) == 3 and parts[2].isdigit():
                total += int(parts[2])
        sizes[name] = total
    return sizes


def space_needed(current: NodeRuntime, changed: list[str]) -> int:
    sizes = installed_bytes(current.site_packages)
    return CLONE_BYTES + sum(2 * sizes.get(n, UNKNOWN_PACKAGE_BYTES // 2) for n in changed)


def node_trial(paths: AppPaths, timeout_s: float = TRIAL_TIMEOUT_S) -> Trial:
    """The health check on a real node: the tiny model served from the new runtime in a private swarm on loopback
    reaches "serving" only after a test request through its blocks passed (core/node/health.py); then it stops."""

    def trial(runtime: NodeRuntime) -> None:
        spec = local_spec(TRIAL_NODE, TINY_DEMO, paths, runtime, new_swarm=True, initial_peers=[])
        supervisor = make_supervisor(spec, paths, EventBus(), runtime)
        try:
            supervisor.start()
            state = supervisor.wait_until(lambda s: s in (NodeState.SERVING, NodeState.FAILED, NodeState.BACKOFF),
                                          timeout_s)
            status = supervisor.status()
            if state is not NodeState.SERVING:
                raise FarNodeError(f"a node on the new runtime did not serve ({state.value}: {status.reason})")
        finally:
            supervisor.stop()
            supervisor.wait_until(lambda s: s in (NodeState.STOPPED, NodeState.FAILED), 60)
            supervisor.close()

    return trial


@dataclass
class Prepared:
    """A runtime ready to switch to, and what preparing it took."""

    vid: str
    folder: Path
    changed: list[str] = field(default_factory=list)  # packages pip had to get (the rest were already there)
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def prepare(versions: RuntimeVersions, lock: bytes, info: bytes | None, trial: Trial | None, *,
            disk_free: DiskFree = lambda p: shutil.disk_usage(p).free, progress: Progress | None = None,
            cancel: threading.Event | None = None) -> Prepared:
    """A new runtime for `lock` beside the current one; the current one is never written to. Raises FarNodeError
    (the current runtime untouched) when space is short, pip fails, the check fails or the trial node fails."""
    started = time.monotonic()
    say = progress or (lambda msg, done, total: None)
    versions.settle()
    vid = version_id(lock)
    target = versions.path(vid)
    current = NodeRuntime(versions.location)
    if not current.is_installed():
        raise FarNodeError("the current node runtime is not installed, so there is nothing to update",
                           hint="run `farnode runtime install`")
    changed, dropped = lock_changes(current.lock.read_text(), lock.decode())
    if versions.ready(vid):
        return Prepared(vid, target, changed, dropped, 0.0)
    versions.folder.mkdir(parents=True, exist_ok=True)
    needed, free = space_needed(current, changed), disk_free(versions.folder)
    if free < needed:
        raise FarNodeError(
            f"not enough disk space to prepare the new node runtime: {free / 1024**3:.1f} GB free at "
            f"{versions.folder}, {needed / 1024**3:.1f} GB needed; the current runtime stays",
            hint="free some disk space; FarNode tries the update again at its next check")
    shutil.rmtree(target, ignore_errors=True)  # what a killed prepare left
    say(f"cloning the current runtime ({packages(len(changed))} to change)", 0, 1)
    source = versions.current_folder()
    clone_tree(source, target)
    relocate(target, source)
    write_atomic(target / OWN_LOCK, lock, mode=0o644)
    if info is not None:
        write_atomic(target / "farnode-lock.json", info, mode=0o644)
    fresh = NodeRuntime(target, base_python=current.base_python)
    if dropped:
        _uninstall(fresh, dropped)
    try:
        fresh.install(progress=progress, force=True, cancel=cancel)  # pip: only what the lock changes
        if trial is not None:
            say("starting a node on the new runtime to check it serves", 0, 1)
            trial(fresh)
    except FarNodeError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise FarNodeError(f"the new node runtime failed its checks and is not used: {exc}; the current one stays",
                           hint=exc.hint) from None
    write_atomic(target / READY, json.dumps({"checked_at": time.time(), "changed": changed}) + "\n", mode=0o644)
    assert (target / MARKER).is_file()
    return Prepared(vid, target, changed, dropped, round(time.monotonic() - started, 2))


def _uninstall(runtime: NodeRuntime, names: list[str]) -> None:
    import subprocess

    from farnode_desktop.core.node.host import minimal_env

    result = subprocess.run([str(runtime.python), "-m", "pip", "uninstall", "-y", "--disable-pip-version-check",
                             *names], capture_output=True, text=True, check=False, timeout=600,
                            env=minimal_env({"PYTHONSAFEPATH": "1"}))
    if result.returncode != 0:
        raise FarNodeError(f"could not remove {', '.join(names)} from the new runtime: {result.stderr[-300:]}")
