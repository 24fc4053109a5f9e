"""Reads a Petals server's log lines into lifecycle signals and plain-language explanations of failures."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Signal(StrEnum):
    PEER = "peer"  # the server's multiaddrs (and so its peer id) are known
    BLOCKS_CHOSEN = "blocks chosen"
    JOINING = "joining"
    LOADED_BLOCK = "loaded block"
    STARTED = "started"
    OFFLINE = "offline"
    SHUTTING_DOWN = "shutting down"
    RECOVERING = "recovering"  # Petals caught an error in a batch and keeps serving
    FATAL = "fatal"  # restarting will not help: go to failed
    HEALABLE = "healable"  # an error that a clean restart fixes


@dataclass(frozen=True)
class LogSignal:
    kind: Signal
    detail: str = ""
    values: dict[str, object] = field(default_factory=dict)


# (pattern, plain-language explanation, what to do). Order matters: the first match wins.
# A cause that can heal by itself (memory freed, disk space freed, the network back) is tried again after a cool-down;
# the others (a bad model, the port of another program, an old driver) wait for the provider.
_HEALS_BY_ITSELF = ("ran out of memory", "free disk space", "cannot be downloaded", "cannot reach this node")
_FATAL: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"OutOfMemoryError|CUDA out of memory|DefaultCPUAllocator: can't allocate memory"),
        "The GPU ran out of memory while loading blocks.",
        "Serve fewer blocks or raise the VRAM headroom in Settings, and close programs that use the GPU.",
    ),
    (
        re.compile(r"Insufficient disk space to load a block|No space left on device"),
        "There is not enough free disk space to store the model's blocks.",
        "Free some disk space (the model cache needs several GB) and start again.",
    ),
    (
        re.compile(r"address already in use"),
        "The node's network port is already used by another program.",
        "Choose another port in Settings, or close the program that holds it.",
    ),
    (
        re.compile(
            r"Can't load the configuration of|is not a local folder and is not a valid model identifier|"
            r"Repository Not Found|HFValidationError|does not appear to have a file named config\.json"
        ),
        "The model could not be found: it is neither a model folder on this PC nor a model name the swarm knows.",
        "Check the model name in Settings (see `farnode plan --model` for the catalog).",
    ),
    (
        re.compile(r"Failed to load file .* from HF Hub|Failed to resolve 'huggingface\.co'|LocalEntryNotFoundError"),
        "The model's files cannot be downloaded: the model hub is unreachable from this PC.",
        "Check your internet connection or firewall, then start again.",
    ),
    (
        re.compile(r"Server has not become reachable from the Internet"),
        "Other computers in the swarm cannot reach this node.",
        "Allow FarNode through your firewall or forward its port on your router; see the README.",
    ),
    (
        re.compile(r"CUDA driver version is insufficient|no kernel image is available for execution"),
        "The NVIDIA driver is too old for the node runtime's CUDA build.",
        "Update the NVIDIA driver, then start again.",
    ),
    (
        re.compile(r"Trying to set a tensor of shape|size mismatch for|is not supported by Petals|Unrecognized model"),
        "This model is not supported by the node runtime.",
        "Pick a model from the catalog (`farnode plan --model`).",
    ),
]

_HEALABLE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Identity from .* is already taken by another peer"), "an old copy of the server still held its identity"),
    (re.compile(r"P2PDaemonError|Daemon failed to start"), "the networking daemon (p2pd) failed"),
]

_PEER = re.compile(r"Running a server on \[(?P<addrs>[^\]]*)\]")
_CHOSEN = re.compile(r"Server will fill your GPU memory with (?P<n>\d+) transformer blocks")
_JOINING = re.compile(r"Announced that blocks \[(?P<blocks>[^\]]*)\] are joining")
_LOADED = re.compile(r"Loaded (?P<model>\S+) block (?P<i>\d+)")
_OFFLINE = re.compile(r"Announced that blocks \[[^\]]*\] are offline")
_RECOVER = re.compile(r"Caught (?P<exc>.+), attempting to recover")
_STARTED = re.compile(r"\[INFO\] Started$")
_LEVEL = re.compile(r"^\w{3} \d\d \d\d:\d\d:\d\d\.\d{3} \[(?P<level>[A-Z]+)\] ")


@dataclass(frozen=True)
class Explanation:
    message: str
    hint: str
    line: str
    heals: bool = False  # the cause can go away by itself: try again after a cool-down


def explain(line: str) -> Explanation | None:
    """If `line` shows an error that restarting cannot heal, say what it means in plain words."""
    for pattern, message, hint in _FATAL:
        if pattern.search(line):
            port = re.search(r":(\d+): bind", line) if "address already in use" in line else None
            text = f"The node's network port {port.group(1)} is already used by another program." if port else message
            return Explanation(text, hint, line.strip(), any(h in message for h in _HEALS_BY_ITSELF))
    return None


def parse_line(line: str) -> LogSignal | None:
    """One log line -> at most one lifecycle signal."""
    if (m := _PEER.search(line)) is not None:
        addrs = [a.strip().strip("'\"") for a in m.group("addrs").split(",") if a.strip()]
        peer = addrs[0].rsplit("/p2p/", 1)[-1] if addrs else ""
        return LogSignal(Signal.PEER, peer, {"multiaddrs": addrs, "peer_id": peer})
    if (m := _CHOSEN.search(line)) is not None:
        return LogSignal(Signal.BLOCKS_CHOSEN, m.group("n"), {"num_blocks": int(m.group("n"))})
    if (m := _JOINING.search(line)) is not None:
        blocks = [int(b) for b in m.group("blocks").split(",") if b.strip()]
        return LogSignal(Signal.JOINING, m.group("blocks"), {"blocks": blocks})
    if (m := _LOADED.search(line)) is not None:
        return LogSignal(Signal.LOADED_BLOCK, m.group("i"), {"block": int(m.group("i"))})
    if _STARTED.search(line.rstrip()):
        return LogSignal(Signal.STARTED)
    if _OFFLINE.search(line):
        return LogSignal(Signal.OFFLINE)
    if "Caught KeyboardInterrupt, shutting down" in line:
        return LogSignal(Signal.SHUTTING_DOWN)
    if (m := _RECOVER.search(line)) is not None:
        return LogSignal(Signal.RECOVERING, m.group("exc"))
    if (fatal := explain(line)) is not None:
        return LogSignal(Signal.FATAL, fatal.message, {"hint": fatal.hint, "line": fatal.line, "heals": fatal.heals})
    for pattern, why in _HEALABLE:
        if pattern.search(line):
            return LogSignal(Signal.HEALABLE, why, {"line": line.strip()})
    return None


def level_of(line: str) -> str | None:
    m = _LEVEL.match(line)
    return m.group("level") if m else None
