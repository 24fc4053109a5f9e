"""`farnode devnet`: a local chain, payout token and coordinator on loopback, in the foreground."""

from __future__ import annotations

import argparse
import json
import threading
from typing import Any

from farnode_desktop.core.earnings.coordinator_models import format_tokens
from farnode_desktop.core.earnings.network import pin_local_devnet
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import SettingsStore


def cmd_devnet(args: argparse.Namespace) -> int:
    try:
        from farnode_desktop.devnet import Devnet, Rules
    except ImportError as exc:
        raise FarNodeError(
            f"the devnet needs the optional devnet packages ({exc.name} is missing)",
            hint="pip install 'farnode-desktop[devnet]'",
        ) from None
    rules = Rules(
        rate_per_block_token=args.rate,
        min_claim=args.min_claim,
        fee=args.fee,
        settle_seconds=args.settle_seconds,
    )
    devnet = Devnet(rules, coordinator_port=args.port, rpc_port=args.rpc_port)
    info = devnet.start()
    try:
        if args.write_settings:
            store = SettingsStore(AppPaths.default().config_file)
            settings = store.load()
            settings.coordinator_url = info.coordinator_url
            settings.chain_rpc_url = info.rpc_url
            store.save(settings)
            # the provider asked for it: this run's fresh token is pinned by their installation (local manifest)
            pin_local_devnet(AppPaths.default(), info.pinned_network())
        if args.json:
            print(json.dumps(info.as_json()), flush=True)
        else:
            print(f"FarNode devnet running (chain id {info.chain_id})")
            print(f"  coordinator:   {info.coordinator_url}")
            print(f"  chain RPC:     {info.rpc_url}")
            print(f"  FAR token:     {info.token_address}")
            print(f"  gateway token: {info.gateway_token}  (Authorization: Bearer ... on /v1/gateway/usage)")
            print(
                f"  rate {rules.rate_per_block_token} wei per block x token, minimum claim "
                f"{format_tokens(rules.min_claim)}, fee {format_tokens(rules.fee)}"
            )
            if args.write_settings:
                print("  settings now point at this devnet, and its FAR token is pinned for this PC")
            print("Press Ctrl+C to stop.", flush=True)
        threading.Event().wait()
    finally:
        devnet.stop()
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("devnet", help="run a local chain + coordinator on 127.0.0.1 (foreground)")
    p.add_argument("--port", type=int, default=0, help="coordinator port (default: a free one)")
    p.add_argument("--rpc-port", type=int, default=0, help="chain JSON-RPC port (default: a free one)")
    p.add_argument("--rate", type=int, default=10**12, help="wei per block x served token")
    p.add_argument("--min-claim", type=int, default=10**15, help="minimum claim in wei")
    p.add_argument("--fee", type=int, default=10**13, help="fee per claim in wei")
    p.add_argument("--settle-seconds", type=int, default=10, help="seconds before a credit is confirmed")
    p.add_argument("--write-settings", action="store_true", help="point this app's settings at the devnet")
    p.add_argument("--json", action="store_true", help="print the URLs as one JSON line")
    p.set_defaults(handler=cmd_devnet)
