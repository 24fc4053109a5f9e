"""`farnode node start|stop|status`: run a node headless, in the foreground or as a background service."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from farnode_desktop.cli import node_args
from farnode_desktop.cli.gpu_cmd import nvml_source
from farnode_desktop.core.checked_files import printable
from farnode_desktop.core.clock import SystemClock
from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.events import Event, EventBus
from farnode_desktop.core.gpus.planner import BlockPlan
from farnode_desktop.core.node.factory import TINY_DEMO, local_spec, make_supervisor
from farnode_desktop.core.node.host import OsProcessHost
from farnode_desktop.core.node.model_check import refuse_unloadable
from farnode_desktop.core.node.process_group import PID_FILE, end_leftover_group
from farnode_desktop.core.node.runtime import NodeRuntime
from farnode_desktop.core.node.service import (
    NodeService,
    known_nodes,
    read_status,
    service_pid,
    state_file,
    unsupervised_server,
)
from farnode_desktop.core.node.spec import NodeSpec
from farnode_desktop.core.node.status import (
    NodeState,
    NodeStatus,
    StateFileUnreadable,
    load_status_file,
    next_try,
    no_requests_text,
)
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    node = sub.add_parser("node", help="run a node (a block server) without the desktop app")
    nsub = node.add_subparsers(dest="node_command", required=True)
    start = nsub.add_parser("start", help="start serving blocks")
    start.add_argument("--model", help=f"catalog name or model folder (default: settings, else {TINY_DEMO})")
    swarm = start.add_mutually_exclusive_group()
    swarm.add_argument("--new-swarm", action="store_true", help="start a private swarm on loopback")
    swarm.add_argument("--initial-peers", nargs="+", default=[], metavar="MULTIADDR", type=node_args.multiaddr)
    start.add_argument("--num-blocks", type=node_args.num_blocks, help=f"1 to {node_args.MAX_BLOCKS}")
    start.add_argument("--port", type=node_args.port, default=0, help="1 to 65535; 0 (default) = a free one, kept")
    start.add_argument("--gpu", type=node_args.gpu_index, metavar="N",
                       help="serve on NVIDIA GPU N (as `farnode gpus` numbers them); default: the CPU")
    start.add_argument("--name", type=node_args.node_name, help="node name (default: gpuN with --gpu N, else cpu)")
    start.add_argument("--dht-prefix", type=node_args.dht_prefix)
    start.add_argument("--foreground", action="store_true", help="supervise in this terminal until Ctrl-C")
    start.add_argument("--wait", type=node_args.seconds, default=300.0, help="seconds to wait for serving (background)")
    start.set_defaults(handler=cmd_start)
    stop = nsub.add_parser("stop", help="stop a node and every process it started")
    stop.add_argument("--name", type=node_args.node_name, help="node name (default: all nodes)")
    stop.set_defaults(handler=cmd_stop)
    status = nsub.add_parser("status", help="show a node's state, blocks and served tokens")
    status.add_argument("--name", type=node_args.node_name, help="node name (default: all nodes)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)


def cmd_start(args: argparse.Namespace) -> int:
    paths = AppPaths.default().ensure()
    settings = SettingsStore(paths.config_file).load()
    # The model (from the flag, else the settings) and the GPU are checked here, before a service is spawned that
    # could only fail.
    args.model = node_args.checked_model(args.model or settings.model or TINY_DEMO)
    args.name = args.name or (f"gpu{args.gpu}" if args.gpu is not None else "cpu")
    plan = gpu_plan(args, settings)
    if service_pid(paths, args.name) is not None:
        raise FarNodeError(f"node {args.name!r} is already running", hint="`farnode node status` shows it")
    runtime = NodeRuntime(paths.runtime)
    if not args.foreground:
        refuse_unloadable(args.model, paths, runtime)  # the runtime's own verdict on a model folder, before a spawn
        return _start_background(args, paths)
    spec = start_spec(args, paths, settings, runtime, plan)
    refuse_unloadable(spec.model, paths, runtime)  # the folder as resolved (the demo model's exists only now)
    bus = EventBus()

    def show(event: Event) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        print(f"{stamp} {event.source}: {event.data.get('state')}: {event.reason}", flush=True)
        if event.data.get("hint"):
            print(f"         what to do: {event.data['hint']}", flush=True)

    bus.subscribe(show, "node.")
    supervisor = make_supervisor(spec, paths, bus, runtime)
    service = NodeService(supervisor, paths)
    service.install_signal_handlers()
    final = service.run()
    for line in final.log_lines[-10:]:
        print(f"  | {line}")
    return 0 if final.state is NodeState.STOPPED else 1


def gpu_plan(args: argparse.Namespace, settings: Settings) -> BlockPlan | None:
    """With --gpu N: GPU N's plan for the model, judged as the app's fleet judges it (None: serve on the CPU)."""
    if args.gpu is None:
        return None
    model = node_args.catalog_model(args.model)
    plan = node_args.serving_gpu(args.gpu, model, settings, nvml_source()).plan
    assert plan is not None  # an eligible GPU always has its plan
    if args.num_blocks is not None and args.num_blocks > plan.num_blocks:
        raise UserInputError(f"GPU {args.gpu} has room for {plan.num_blocks} blocks of {model.name}; "
                             f"cannot serve {args.num_blocks}",
                             hint="ask for fewer blocks, or leave out --num-blocks to serve what fits")
    return plan


def start_spec(args: argparse.Namespace, paths: AppPaths, settings: Settings, runtime: NodeRuntime,
               plan: BlockPlan | None) -> NodeSpec:
    """The launch `node start` asked for: flags first, then Settings; on a GPU, the spec the app's fleet builds."""
    return local_spec(args.name, args.model, paths, runtime,
                      new_swarm=args.new_swarm or (not args.initial_peers and settings.new_swarm),
                      initial_peers=args.initial_peers or settings.initial_peers, num_blocks=args.num_blocks,
                      port=args.port, gpu=args.gpu, plan=plan, dht_prefix=args.dht_prefix)


def background_argv(args: argparse.Namespace) -> list[str]:
    """The `node start --foreground` command the background service runs, with every flag given here."""
    # the frozen app is its own entry point; from source, run the package
    me = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "farnode_desktop"]
    argv = [*me, "node", "start", "--foreground", "--name", args.name]
    for flag, value in (("--model", args.model), ("--num-blocks", args.num_blocks), ("--dht-prefix", args.dht_prefix),
                        ("--gpu", args.gpu)):
        if value is not None:
            argv += [flag, str(value)]
    if args.port:
        argv += ["--port", str(args.port)]
    if args.new_swarm:
        argv.append("--new-swarm")
    if args.initial_peers:
        argv += ["--initial-peers", *args.initial_peers]
    return argv


def _start_background(args: argparse.Namespace, paths: AppPaths) -> int:
    argv = background_argv(args)
    log = paths.logs / f"service-{args.name}.log"
    (paths.node_dir(args.name)).mkdir(parents=True, exist_ok=True)
    state = paths.node_dir(args.name) / "state.json"
    state.unlink(missing_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    print(f"node {args.name}: starting in the background (pid {proc.pid}); log: {log}")
    deadline = time.monotonic() + args.wait
    last = None
    while time.monotonic() < deadline:
        status = read_status(paths, args.name)
        if status is not None and (status.state, status.reason) != last:
            last = (status.state, status.reason)
            print(f"  {status.state.value}: {status.reason}", flush=True)
            if status.state in (NodeState.SERVING, NodeState.FAILED):
                if status.hint:
                    print(f"  what to do: {status.hint}")
                return 0 if status.state is NodeState.SERVING else 1
        if proc.poll() is not None and (status is None or status.state is not NodeState.SERVING):
            print(f"  the node service exited (code {proc.returncode}); see {log}", file=sys.stderr)
            return 1
        time.sleep(0.3)
    print(f"  still {last[0].value if last else 'starting'} after {args.wait:.0f} s; `farnode node status` follows it")
    return 0


def _to_stderr(prefix: str) -> Callable[[str], None]:
    return lambda message: print(printable(prefix + message), file=sys.stderr)


def service_proof(pid: int, name: str) -> str:
    """Why process `pid` is not node `name`'s service ("" when its command line is FarNode's `node start --foreground`
    for that node): a pid and start time alone do not prove whose a process is."""
    import psutil

    try:
        argv = psutil.Process(pid).cmdline()
    except (psutil.Error, OSError):
        return "its command line cannot be read"
    named = [b for a, b in itertools.pairwise(argv) if a == "--name"]
    ours = any("farnode" in part for part in argv[:3]) and all(w in argv for w in ("node", "start", "--foreground"))
    if not ours or (named and named[-1] != name):
        return "its command line is not this node's FarNode service"
    return ""


def cmd_stop(args: argparse.Namespace) -> int:
    paths = AppPaths.default().ensure()
    names = [args.name] if args.name else known_nodes(paths)
    for name in names:
        pid = service_pid(paths, name)
        why = service_proof(pid, name) if pid is not None else ""
        if pid is not None and why:
            print(printable(f"node {name}: the service pid file names process {pid}, which is not this node's service"
                            f" ({why}); it was left alone"), file=sys.stderr)
            pid = None
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while service_pid(paths, name) is not None and time.monotonic() < deadline:
                time.sleep(0.2)
            if service_pid(paths, name) is not None:
                os.kill(pid, signal.SIGKILL)
        # Whatever the service did or did not finish, no server process of this node may survive.
        ended = end_leftover_group(paths.node_dir(name) / PID_FILE, OsProcessHost(), SystemClock(),
                                   report=_to_stderr(f"node {name}: "))
        note = f" (ended {len(ended)} leftover processes)" if ended else ""
        if pid is not None or ended:
            print(f"node {name}: stopped{note}")
    return 0


def _summary(status: NodeStatus, alive: bool, leftovers: list[int] | None = None) -> dict[str, Any]:
    body = status.to_json()
    if not alive and leftovers:  # never call a running server "stopped"
        body["state"] = NodeState.STOPPING.value
        body["reason"] = (f"the supervisor is not running, but {len(leftovers)} server processes still run "
                          f"(pids {', '.join(map(str, leftovers[:8]))}); they end by themselves within seconds")
        body["hint"] = "if they do not, `farnode node stop` ends them"
        body["tokens_per_s"] = 0.0
    elif not alive and status.state not in (NodeState.STOPPED, NodeState.FAILED):
        body["state"] = NodeState.STOPPED.value
        body["reason"] = f"the supervisor is not running (last seen: {status.state.value})"
        body["tokens_per_s"] = 0.0
    body["next_try"] = next_try(status, time.time()) if alive else ""  # counted down from when the file was written
    # "serving, but no requests": counted on from when the file was written
    body["no_requests"] = no_requests_text(status, time.time()) if alive and body["state"] == status.state else ""
    return body


def cmd_status(args: argparse.Namespace) -> int:
    paths = AppPaths.default().ensure()
    names = [args.name] if args.name else known_nodes(paths)
    report = []
    for name in names:
        try:
            status = load_status_file(state_file(paths, name))
        except StateFileUnreadable as exc:  # the node is still listed, with what went wrong
            report.append({**NodeStatus(name, NodeState.STOPPED, str(exc), exc.hint).to_json(), "state": "unknown"})
            continue
        if status is None:
            continue
        alive = service_pid(paths, name) is not None
        report.append(_summary(status, alive, None if alive else unsupervised_server(paths, name)))
    if args.json:
        print(json.dumps(report if not args.name else (report[0] if report else {}), indent=2))
        return 0
    if not report:
        print("no node has run yet; start one with `farnode node start`")
        return 0

    def say(line: str) -> None:
        print(printable(line))  # names, reasons and addresses can hold text from the network

    for body in report:
        blocks = f"{body['start_block']}-{int(body['end_block']) - 1}" if body.get("end_block") is not None else "-"
        quiet = f" — {body['no_requests']}" if body.get("no_requests") else ""
        say(f"node {body['name']}: {body['state']}{quiet} ({body['reason']})")
        if body.get("hint"):
            say(f"  what to do:    {body['hint']}")
        if body.get("next_try"):
            say(f"  next try:      {body['next_try']}")
        say(f"  server pid:    {body['pid'] or '-'}")
        say(f"  peer id:       {body['peer_id'] or '-'}")
        for addr in body.get("multiaddrs") or []:
            say(f"  multiaddr:     {addr}")
        say(f"  DHT prefix:    {body['dht_prefix'] or '-'}")
        say(f"  blocks:        {blocks}")
        say(f"  served tokens: {body['served_tokens']}  ({body['tokens_per_s']:.1f} tokens/s)")
        if body.get("health_check") or body.get("failed_requests"):
            say(f"  test request:  {body.get('health_check') or '-'}; failed requests: {body.get('failed_requests', 0)}")
        say(f"  uptime:        {body['uptime_s']:.0f} s, restarts: {body['restarts']}")
    return 0
