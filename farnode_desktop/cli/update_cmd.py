"""`farnode update check|status|apply|rollback`: check the signed update channel now, show what this installation
trusts (the update channel, its root of trust, the last check, the manifest and catalog FarNode reads, the app's
versions), apply the newest signed FarNode or go back to the previous one."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from farnode_desktop import __version__
from farnode_desktop.core.earnings.network import (
    installation_networks,
    shipped_manifest_path,
    verified_manifest_path,
)
from farnode_desktop.core.gpus.catalog import catalog_path, verified_catalog_path
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.updates.app_update import AppUpdates
from farnode_desktop.core.updates.channel import ChannelError, load_channel
from farnode_desktop.core.updates.client import UpdateClient, last_check


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    update = sub.add_parser("update", help="signed updates: check the update channel, show what is trusted")
    usub = update.add_subparsers(dest="update_command", required=True)
    check = usub.add_parser("check", help="fetch and verify the signed network manifest and model catalog now")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=cmd_check)
    status = usub.add_parser("status", help="the update channel, its root of trust and the last check")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)
    apply = usub.add_parser("apply", help="download, verify and install the newest signed FarNode (it runs from the "
                                          "next start, once its self-test passed)")
    apply.add_argument("--json", action="store_true")
    apply.set_defaults(handler=cmd_apply)
    rollback = usub.add_parser("rollback", help="go back to the previous FarNode version at the next start")
    rollback.add_argument("--json", action="store_true")
    rollback.set_defaults(handler=cmd_rollback)
    confirm = usub.add_parser("confirm-start")  # the launcher's self-test of a new version (no help: not for people)
    confirm.add_argument("--confirm", type=Path, required=True)
    confirm.set_defaults(handler=cmd_confirm_start)


def _progress_printer() -> AppUpdates:
    from farnode_desktop.core.events import EventBus

    bus = EventBus()
    updates = AppUpdates(AppPaths.default().ensure(), bus=bus)
    bus.subscribe(lambda e: print(f"  {e.reason}", file=sys.stderr, flush=True)
                  if e.topic == "update.progress" else None)
    return updates


def _outcome(outcome: object, as_json: bool) -> int:
    from dataclasses import asdict

    ok = bool(getattr(outcome, "ok", False))
    if as_json:
        print(json.dumps(asdict(outcome), indent=2))  # type: ignore[call-overload]
    else:
        print(f"farnode update: {getattr(outcome, 'message', '')}", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def cmd_apply(args: argparse.Namespace) -> int:
    return _outcome(_progress_printer().apply(), args.json)


def cmd_rollback(args: argparse.Namespace) -> int:
    return _outcome(AppUpdates(AppPaths.default().ensure()).roll_back(), args.json)


def cmd_confirm_start(args: argparse.Namespace) -> int:
    """A new version's start-up check: its core initialises (settings, ledger, catalog, trust anchor), then it
    writes the confirmation the launcher waits for."""
    from farnode_desktop import __version__
    from farnode_desktop.core.app_core import AppCore

    paths = AppPaths.default().ensure()
    load_channel(paths)  # a version that could not read its trust anchor could never update again
    core = AppCore(paths, sample_gpus=False)  # settings, ledger, catalog, the GPU sampler and the PC's signals
    core.settings = core.store.load()
    core.shutdown(timeout_s=5)  # nothing was started: it closes what the core opened
    from farnode_desktop.core.atomic import write_atomic

    write_atomic(args.confirm, json.dumps({"version": __version__, "at": time.time()}) + "\n", mode=0o644)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    result = UpdateClient(AppPaths.default().ensure()).check()
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(f"update check: {result.message}", file=sys.stdout if result.ok else sys.stderr)
        for name in result.available:
            print(f"  also published (applied by a later FarNode): {name}")
    return 0 if result.ok else 1


def _file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {"path": str(path), "present": False}
    return {"path": str(path), "present": True, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def status_json(paths: AppPaths) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        channel = load_channel(paths)
        root = json.loads(channel.trusted_root)["signed"]
        out["channel"] = {"url": channel.url, "from": str(channel.source), "root_version": root.get("version"),
                          "root_expires": root.get("expires")}
    except (ChannelError, ValueError, KeyError, TypeError) as exc:
        out["channel"] = {"problem": str(exc)}
    last = last_check(paths)
    out["last_check"] = last.to_json() if last else None
    verified = verified_manifest_path(paths)
    out["manifest"] = _file(verified if verified.is_file() else shipped_manifest_path())
    out["manifest"]["verified"] = verified.is_file()
    networks = installation_networks(paths)
    out["manifest"]["networks"] = [{"chain_id": n.chain_id, "name": n.name, "fee_bps": n.fee_bps,
                                    "min_app_version": n.min_app_version, "too_old": n.too_old(__version__)}
                                   for n in networks.networks]
    out["catalog"] = _file(catalog_path(paths))
    out["catalog"]["verified"] = catalog_path(paths) == verified_catalog_path(paths)
    app = AppUpdates(paths, client=None)
    state = app.state()
    out["app"] = {"running": app.running, "installed_app": state is not None,
                  **({"state": state.__dict__, "kept": app.root.kept()} if state is not None and app.root else {})}
    return out


def cmd_status(args: argparse.Namespace) -> int:
    info = status_json(AppPaths.default())
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    channel = info["channel"]
    if "problem" in channel:
        print(f"update channel: {channel['problem']}")
    else:
        print(f"update channel: {channel['url'] or 'none (a development build: no update server)'}")
        print(f"  root of trust: version {channel['root_version']}, expires {channel['root_expires']}, "
              f"from {channel['from']}")
    last = info["last_check"]
    if last is None:
        print("last check: never")
    else:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last["checked_at"]))
        print(f"last check: {when}: {'OK' if last['ok'] else 'REFUSED'}: {last['message']}")
    for key, what in (("manifest", "network manifest"), ("catalog", "model catalog")):
        entry = info[key]
        origin = "signed, verified by the update channel" if entry["verified"] else "shipped with FarNode"
        print(f"{what}: {origin}: {entry['path']}")
    for network in info["manifest"]["networks"]:
        if network["too_old"]:
            print(f"warning: {network['too_old']}")
    app = info["app"]
    if not app["installed_app"]:
        print(f"app: FarNode {app['running']} from a source checkout: it updates through git and pip")
    else:
        state = app["state"]
        print(f"app: FarNode {app['running']} running; starts {state['current'] or 'the installed version'}"
              + (f", previous {state['previous']}" if state["previous"] else "")
              + (f", {state['staged']} staged (applied at the next start)" if state["staged"] else ""))
        if state["note"]:
            print(f"  {state['note']}")
    return 0
