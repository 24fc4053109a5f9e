"""`farnode update check|status`: check the signed update channel now, and show what this installation trusts
(the update channel, its root of trust, the last check, and the manifest and catalog FarNode reads)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from farnode_desktop.core.earnings.network import shipped_manifest_path, verified_manifest_path
from farnode_desktop.core.gpus.catalog import catalog_path, verified_catalog_path
from farnode_desktop.core.paths import AppPaths
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
    out["catalog"] = _file(catalog_path(paths))
    out["catalog"]["verified"] = catalog_path(paths) == verified_catalog_path(paths)
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
    return 0
