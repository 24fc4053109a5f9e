"""`farnode demo`: the whole network on loopback (devnet, gateway, a CPU node) with the tray app or a live text view."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from types import FrameType

from farnode_desktop.core.earnings.coordinator_models import format_tokens
from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.core.events import Event
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.devnet.demo import RUNTIME_UPDATE_AFTER_S, DemoCancelled, DemoNetwork, demo_paths, update_after


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="run the whole network on this PC: node, gateway, coordinator, chain")
    demo.add_argument("--headless", action="store_true", help="no windows: print live status (default without a display)")
    demo.add_argument("--duration", type=float, default=0, help="stop by itself after this many seconds (0: Ctrl-C)")
    demo.add_argument("--claim-every", type=float, default=45, help="claim earnings every this many seconds")
    demo.add_argument("--update-after", type=float, default=RUNTIME_UPDATE_AFTER_S,
                      help="publish a new node runtime this many seconds after the first served request, which the "
                           "node then switches to (-1: never)")
    demo.set_defaults(handler=cmd_demo)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in ("win32", "darwin")


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.headless and has_display():
        try:
            from farnode_desktop.ui.app import run_demo_app
        except ImportError:
            print("the desktop app is not available here; running the demo headless", file=sys.stderr)
        else:
            return int(run_demo_app(args))
    return run_headless(args)


def run_headless(args: argparse.Namespace) -> int:
    real = AppPaths.default().ensure()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def say(text: str) -> None:
        print(f"demo: {text}", flush=True)

    paths = demo_paths(real, say=say)
    demo = DemoNetwork(paths, NodeRuntime(real.runtime), on_line=say, runtime_update_after_s=update_after(args))

    def show(event: Event) -> None:
        if event.topic == "node.state":
            print(f"demo: node {event.source}: {event.data.get('state')}: {event.reason}", flush=True)
        elif event.topic == "payout.confirmed":
            print(f"demo: payout confirmed on chain: tx {event.data.get('tx_hash')}", flush=True)
        elif (event.topic in ("update.runtime", "update.problem", "update.available", "update.staged")
              and event.source != "demo"):  # the demo's own lines are said already
            print(f"demo: update: {event.reason}", flush=True)

    demo.bus.subscribe(show)
    code = 0
    try:
        core = demo.start(cancelled=stop.is_set)
        started = time.monotonic()
        last_claim = started
        last_print = 0.0
        while not stop.is_set():
            core.tick()
            now = time.monotonic()
            if now - last_print >= 5:
                last_print = now
                print(_status_line(demo), flush=True)
            if now - last_claim >= args.claim_every:
                last_claim = now
                try:
                    record = demo.claim()
                except FarNodeError as exc:
                    print(f"demo: claim not made: {exc}", flush=True)
                else:
                    if record is None:
                        print("demo: not enough to claim yet", flush=True)
                    else:
                        print(f"demo: claim {record.state.value}: {format_tokens(record.net_amount)}"
                              f" (tx {record.tx_hash})", flush=True)
            if args.duration and now - started >= args.duration:
                break
            stop.wait(0.5)
    except DemoCancelled as exc:
        print(f"demo: {exc}", flush=True)
    except FarNodeError as exc:
        _print_error(exc)
        code = 1
    finally:
        # the last figures are read while the ledger is still open; stopping closes it
        last = _status_line(demo)
        print("demo: stopping (node, gateway, devnet)...", flush=True)
        try:
            demo.stop()
        except FarNodeError as exc:
            _print_error(exc)
            code = 1
        print(f"demo: stopped. {last}", flush=True)
    return code


def _print_error(exc: FarNodeError) -> None:
    print(f"farnode demo: {exc}", file=sys.stderr)
    if exc.hint:
        print(f"  what to do: {exc.hint}", file=sys.stderr)


def _status_line(demo: DemoNetwork) -> str:
    core = demo.core
    if core is None:
        return "demo: not started"
    statuses = core.node_statuses()
    served = sum(s.served_tokens for s in statuses)
    rate = sum(s.tokens_per_s for s in statuses)
    states = ", ".join(f"{s.name} {s.state.value}" for s in statuses)
    earned = ""
    try:
        earnings = core.earnings()
    except FarNodeError:
        earnings = None
    if earnings is not None:
        earned = (f", earned {format_tokens(earnings.confirmed)} (claimable {format_tokens(earnings.claimable)},"
                  f" paid {format_tokens(earnings.paid)})")
    return (f"demo: {states}; {demo.stats.requests} requests, {served} served tokens ({rate:.1f}/s){earned};"
            f" {len(demo.stats.claims)} claims")
