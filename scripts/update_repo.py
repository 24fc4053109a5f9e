"""Far Labs' release tool for the FarNode update repository (TUF): `init` makes the keys and root, `publish` signs a
release (network manifest, model catalog, runtime lock and its metadata), `rotate` replaces a role's keys in a new
root version, `timestamp` re-signs the timestamp so clients see the repository is not frozen.

The keys folder holds private keys: keep it off the repository and off the update server (release keys belong to
Far Labs' release process, on offline or hardware-backed storage). Usage:
  python scripts/update_repo.py init --repo OUT --keys KEYS [--threshold root=2] [--ship resources/update --url URL]
  python scripts/update_repo.py publish --repo OUT --keys KEYS --manifest F --catalog F [--runtime-lock F]
  python scripts/update_repo.py publish-app --repo OUT --keys KEYS --file farnode-0.2.0-linux-x86_64.tar.gz
      --version 0.2.0 --platform linux-x86_64 [--entry farnode]   (Windows: a .zip of the app folder, FarNode.exe;
      a .deb or NSIS .exe is published for new installs, the updater applies only the bundle archives)
  python scripts/update_repo.py rotate --repo OUT --keys KEYS --role timestamp   (rotate-root: --role root)
  python scripts/update_repo.py timestamp --repo OUT --keys KEYS
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from farnode_desktop.core.errors import FarNodeError  # noqa: E402
from farnode_desktop.core.updates.channel import CHANNEL_FILE, ROOT_FILE, check_url  # noqa: E402
from farnode_desktop.devnet.update_repo import (  # noqa: E402
    MODEL_CATALOG,
    NETWORK_MANIFEST,
    ROLES,
    RUNTIME_INFO,
    RUNTIME_LOCK,
    UpdateRepository,
    publish_app_release,
)


def _thresholds(pairs: list[str]) -> dict[str, int]:
    out = {}
    for pair in pairs:
        role, _, count = pair.partition("=")
        if role not in ROLES or not count.isdigit() or int(count) < 1:
            raise SystemExit(f"--threshold {pair!r}: expected ROLE=N with ROLE one of {', '.join(ROLES)}")
        out[role] = int(count)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("init", "publish", "rotate", "timestamp"):
        p = sub.add_parser(name, aliases=["rotate-root"] if name == "rotate" else [])
        p.add_argument("--repo", type=Path, required=True, help="the repository folder (served as it is)")
        p.add_argument("--keys", type=Path, required=True, help="the private keys folder (never published)")
        if name == "init":
            p.add_argument("--threshold", action="append", default=[], help="ROLE=N keys needed (default 1)")
            p.add_argument("--ship", type=Path, help="also write root.json and channel.json here (resources/update)")
            p.add_argument("--url", help="the repository's address, written to channel.json (omit: none)")
        if name == "publish":
            p.add_argument("--manifest", type=Path, help="the network manifest (resources/network/manifest.json)")
            p.add_argument("--catalog", type=Path, help="the model catalog (resources/models.json)")
            p.add_argument("--runtime-lock", type=Path, help="a node-runtime lock file")
            p.add_argument("--runtime-info", type=Path, help="the runtime lock's metadata (JSON)")
        if name == "rotate":
            p.add_argument("--role", choices=ROLES, default="root", help="whose keys (default: root)")
            p.add_argument("--threshold", type=int, help="keys needed after the rotation (default: as before)")
    _add_publish_app(sub)
    _add_publish_runtime(sub)
    args = parser.parse_args(argv)
    if args.command == "publish-app":
        return _publish_app(args)
    if args.command == "publish-runtime":
        return _publish_runtime(args)
    repo = UpdateRepository(args.repo, args.keys)
    try:
        if args.command == "init":
            root = repo.init(_thresholds(args.threshold))
            print(f"root metadata version 1: {root}")
            if args.ship:
                args.ship.mkdir(parents=True, exist_ok=True)
                (args.ship / ROOT_FILE).write_bytes(root.read_bytes())
                url = check_url(args.url, args.ship / CHANNEL_FILE)
                (args.ship / CHANNEL_FILE).write_text(json.dumps({"url": url}, indent=2) + "\n", encoding="utf-8")
                print(f"trust anchor written to {args.ship}")
        elif args.command == "publish":
            files = {target: path.read_bytes() for target, path in (
                (NETWORK_MANIFEST, args.manifest), (MODEL_CATALOG, args.catalog),
                (RUNTIME_LOCK, args.runtime_lock), (RUNTIME_INFO, args.runtime_info)) if path is not None}
            if not files:
                parser.error("publish needs at least one of --manifest, --catalog, --runtime-lock, --runtime-info")
            print(f"published {', '.join(files)} as targets version {repo.publish(files)}")
        elif args.command in ("rotate", "rotate-root"):
            print(f"root metadata version {repo.rotate(args.role, args.threshold)}: new {args.role} keys")
        else:
            print(f"timestamp version {repo.refresh_timestamp()}")
    except (FarNodeError, OSError) as exc:
        print(f"update_repo: {exc}", file=sys.stderr)
        return 1
    return 0


def _add_publish_app(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("publish-app", help="sign a FarNode app release (version and platform in its metadata)")
    p.add_argument("--repo", type=Path, required=True, help="the repository folder (served as it is)")
    p.add_argument("--keys", type=Path, required=True, help="the private keys folder (never published)")
    p.add_argument("--file", type=Path, required=True, help="the bundle archive (.tar.gz/.zip) or installer")
    p.add_argument("--version", required=True, help="the release's version (dotted numbers, as 0.2.0)")
    p.add_argument("--platform", required=True, help="linux-x86_64, windows-x86_64, ...")
    p.add_argument("--entry", help="the executable in the bundle the launcher starts (default: farnode, or "
                                   "FarNode.exe for windows-*)")


def _publish_app(args: argparse.Namespace) -> int:
    entry = args.entry or ("FarNode.exe" if args.platform.startswith("windows") else "farnode")
    try:
        name, version = publish_app_release(UpdateRepository(args.repo, args.keys), args.file.read_bytes(),
                                            args.file.name, args.version, args.platform, entry)
    except (FarNodeError, OSError) as exc:
        print(f"update_repo: {exc}", file=sys.stderr)
        return 1
    print(f"published {name} (FarNode {args.version}, {args.platform}) as targets version {version}")
    return 0


def _add_publish_runtime(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("publish-runtime", help="sign a node-runtime lock and its metadata (nodes update to it)")
    p.add_argument("--repo", type=Path, required=True, help="the repository folder (served as it is)")
    p.add_argument("--keys", type=Path, required=True, help="the private keys folder (never published)")
    p.add_argument("--lock", type=Path, required=True, help="the lock (resources/runtime/lock-linux-x86_64.txt)")
    p.add_argument("--info", type=Path, help="its metadata (default: the .json beside the lock)")


def _publish_runtime(args: argparse.Namespace) -> int:
    """A lock FarNode can install (every requirement pinned with a hash) and metadata it can read, or a refusal."""
    from farnode_desktop.core.node.runtime_lock import RuntimeNeeds, metadata_path
    from farnode_desktop.core.updates.runtime_prepare import pins

    info_path = args.info or metadata_path(args.lock)
    try:
        lock, info = args.lock.read_bytes(), info_path.read_bytes()
        found = pins(lock.decode())
        unhashed = [name for name, pin in found.items() if "--hash=sha256:" not in pin]
        if not found or unhashed:
            raise FarNodeError(f"{args.lock} is not a hashed lock (no hash for: {', '.join(unhashed) or 'anything'})")
        try:
            RuntimeNeeds.from_metadata(json.loads(info), source=info_path.name)
        except (ValueError, KeyError, TypeError) as exc:
            raise FarNodeError(f"{info_path} is not runtime metadata FarNode can read ({exc})") from None
        version = UpdateRepository(args.repo, args.keys).publish({RUNTIME_LOCK: lock, RUNTIME_INFO: info})
    except (FarNodeError, OSError) as exc:
        print(f"update_repo: {exc}", file=sys.stderr)
        return 1
    print(f"published the node runtime lock {args.lock.name} ({len(found)} packages) as targets version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
