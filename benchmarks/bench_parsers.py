"""How long each reader of outside data takes on the worst input that can be built for it: 8 MiB of each hostile shape
(escaped quotes inside deep brackets, deep nesting, the most lists and objects, strings, numbers and keys that fit)
through the reader's real entry point (replies over real HTTP on loopback, files on disk), plus each reader's worst
input at its own size cap; and the old regex pre-scan against the bounded reader on the escaped-quote reply that
froze the app (65 s at 128 KiB). Target: every input refused or parsed in under 1 s.
Run: `.venv/bin/python benchmarks/bench_parsers.py [--repeat 3] [--old-128k]`; writes benchmarks/results/parsers.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from farnode_desktop.cli.node_args import checked_model  # noqa: E402
from farnode_desktop.core.checked_files import MAX_FILE_BYTES, loads_bounded  # noqa: E402
from farnode_desktop.core.earnings.coordinator import MAX_REPLY_BYTES, CoordinatorClient  # noqa: E402
from farnode_desktop.core.earnings.payouts import MAX_RPC_BYTES, ChainReader  # noqa: E402
from farnode_desktop.core.earnings.wallet import MAX_KEYSTORE_BYTES, _key_from_keystore, read_keystore_file  # noqa: E402
from farnode_desktop.core.errors import FarNodeError  # noqa: E402
from farnode_desktop.core.node.process_group import MAX_PID_FILE_BYTES, read_pid_record  # noqa: E402
from farnode_desktop.core.node.status import load_status_file  # noqa: E402
from farnode_desktop.core.settings import SettingsStore  # noqa: E402
from farnode_desktop.devnet import Devnet  # noqa: E402
from farnode_desktop.devnet.server import MAX_BODY_BYTES  # noqa: E402
from tests.devnet.test_server_hostile import post_raw  # noqa: E402
from tests.hostile_inputs import ReplyServer  # noqa: E402

MIB = 1024 * 1024
WALLET = "0x" + "ab" * 20
TARGET_S = 1.0


def fill(head: str, unit: str, tail: str, size: int) -> str:
    """head + unit repeated + tail, `size` bytes long (UTF-8) or just under."""
    count = max(0, (size - len((head + tail).encode())) // len(unit.encode()))
    return head + unit * count + tail


def shapes(size: int) -> dict[str, str]:
    """The hostile shapes, each `size` bytes: some valid JSON, some not, each the worst of its kind."""
    node = ('{"peer_id": "12D3KooWPeer", "bound_at": 1.8e9, "served_tokens": 10, "requests": 1, "estimated": "0",'
            ' "confirmed": "5"},')
    earnings = json.dumps({"wallet": WALLET, "symbol": "FAR", "decimals": 18, "estimated": "0", "confirmed": "5",
                           "claimable": "5", "pending": "0", "paid": "0", "min_claim": "1", "fee": "1",
                           "next_nonce": 3, "as_of": 1.8e9, "history": []})[:-1] + ', "nodes": ['

    return {
        "escaped quotes inside deep brackets, unterminated": fill("[" * 65 + '"', '\\"', "", size),
        "escaped quotes inside deep brackets, closed": fill("[" * 64 + '"', '\\"', '"' + "]" * 64, size),
        "escaped quotes outside strings": fill("[" * 65, '\\"', "]" * 65, size),
        "brackets never closed": "[" * size,
        "objects never closed": fill("", '{"a":', "", size),
        "empty lists side by side": fill("[", "[],", "[]]", size),
        "lists 64 deep side by side": fill("[", "[" * 63 + "]" * 63 + ",", "1]", size),
        "short strings": fill("[", '"a",', '"a"]', size),
        "whole numbers": fill("[", "1,", "1]", size),
        "4300-digit numbers": fill("[", "9" * 4300 + ",", "1]", size),
        "one long string of escapes": fill('"', "\\u00e9", '"', size),
        "surrogate pairs": fill('"', "\\ud83d\\ude00", '"', size),
        "escaped backslashes before a surrogate": fill('["', "\\\\", '\\ud800"]', size),
        "object keys": "{" + ",".join(f'"{i}":1' for i in range(size // 12)) + "}",
        "lone surrogate after many values": fill('["\\ud800",', "1,", "1]", size),
        "earnings reply with the most nodes": fill(earnings, node, node[:-1] + "]}", size),
    }


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, float, str]:
    """Median and worst seconds of `call` over `repeat` runs, and what it ended in."""
    times, outcome = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            call()
            outcome = "parsed"
        except (ValueError, FarNodeError) as exc:
            outcome = f"refused: {str(exc)[:120]}"
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 4), round(max(times), 4), outcome


class Readers:
    """Each reader's real entry point, given one input (str) to read."""

    def __init__(self, root: Path, server: ReplyServer, devnet: Devnet) -> None:
        self.root, self.server, self.devnet = root, server, devnet
        (root / "model").mkdir(exist_ok=True)

    def loads_bounded(self, text: str) -> Any:
        return loads_bounded(text)

    def coordinator_reply(self, text: str) -> Any:
        self.server.answer(text.encode("utf-8", "surrogatepass"))
        return CoordinatorClient(self.server.url).earnings(WALLET)

    def rpc_reply(self, text: str) -> Any:
        self.server.answer(text.encode("utf-8", "surrogatepass"))
        return ChainReader(self.server.url).chain_id()

    def _file(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        return path

    def settings_file(self, text: str) -> Any:
        store = SettingsStore(self._file("settings.json", text))
        store.load()
        if store.problem:
            raise ValueError(store.problem)

    def state_file(self, text: str) -> Any:
        return load_status_file(self._file("state.json", text))

    def pid_file(self, text: str) -> Any:
        return read_pid_record(self._file("server.pid", text))

    def keystore(self, text: str) -> Any:
        return _key_from_keystore(read_keystore_file(self._file("keystore.json", text)), "pw")

    def model_config(self, text: str) -> Any:
        self._file("model/config.json", text)
        return checked_model(str(self.root / "model"))

    def devnet_body(self, text: str) -> Any:
        assert self.devnet.info is not None
        try:
            status, body = post_raw(self.devnet.info.coordinator_url + "/v1/claims",
                                    text.encode("utf-8", "surrogatepass"))
        except OSError as exc:  # refused before the whole body was sent: the connection closes under the sender
            raise ValueError(f"the connection was closed while sending ({exc})") from None
        if status >= 500:
            raise RuntimeError(f"the devnet answered {status}: {body}")
        if status >= 400:
            raise ValueError(f"HTTP {status}: {body['error']['message']}")


CAPS = {"loads_bounded": None, "coordinator_reply": MAX_REPLY_BYTES, "rpc_reply": MAX_RPC_BYTES,
        "settings_file": MAX_FILE_BYTES, "state_file": MAX_FILE_BYTES, "pid_file": MAX_PID_FILE_BYTES,
        "keystore": MAX_KEYSTORE_BYTES, "model_config": None, "devnet_body": MAX_BODY_BYTES}

# The pre-scan this replaced (farnode_desktop/core/checked_files.py before issue 16), kept here to measure it.
_OLD_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_OLD_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def old_loads_bounded(text: str, max_depth: int = 64) -> Any:
    if text.count("[") + text.count("{") > max_depth:
        brackets = _OLD_NOT_BRACKET.sub("", _OLD_STRING.sub("", text))
        depth = deepest = 0
        for char in brackets:
            depth += 1 if char in "[{" else -1
            deepest = max(deepest, depth)
        if deepest > max_depth:
            raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return json.loads(text)


def before_and_after(sizes_kib: list[int]) -> dict[str, Any]:
    """The escaped-quote reply of issue 16 (deep brackets, then a string of escaped quotes) at each size."""
    rows = {}
    for kib in sizes_kib:
        text = fill("[" * 65 + '"', '\\"', "", kib * 1024)
        old = timed(lambda t=text: old_loads_bounded(t), 1)
        new = timed(lambda t=text: loads_bounded(t), 3)
        rows[f"{kib} KiB"] = {"old_s": old[0], "new_s": new[0], "new_outcome": new[2]}
        print(f"  escaped-quote reply {kib:>4} KiB: old {old[0]:8.3f} s, new {new[0]:.4f} s", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old-128k", action="store_true", help="also time the old pre-scan at 128 KiB (about a minute)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "parsers.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # a damaged settings file logs a warning each time; the figures are the point
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                           "load_1min": round(os.getloadavg()[0], 2)}, "target_s": TARGET_S}
    server, devnet = ReplyServer(), Devnet()
    devnet.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-parsers-") as tmp:
            readers = Readers(Path(tmp), server, devnet)
            worst: list[tuple[float, str, str]] = []
            for reader, cap in CAPS.items():
                call = getattr(readers, reader)
                rows: dict[str, Any] = {}
                sizes = [("8 MiB", 8 * MIB)] + ([(f"at its cap ({cap} B)", cap)] if cap and cap < 8 * MIB else [])
                for size_name, size in sizes:
                    for shape, text in shapes(size).items():
                        median, high, outcome = timed(lambda c=call, t=text: c(t), args.repeat)
                        rows[f"{size_name}: {shape}"] = {"bytes": len(text.encode("utf-8", "surrogatepass")),
                                                         "median_s": median, "max_s": high, "outcome": outcome}
                        worst.append((high, reader, f"{size_name}: {shape}"))
                slowest = max(rows.items(), key=lambda kv: kv[1]["max_s"])
                print(f"{reader:>18}: slowest {slowest[1]['max_s']:.3f} s ({slowest[0]}; {slowest[1]['outcome'][:60]})",
                      flush=True)
                results[reader] = rows
            high, reader, shape = max(worst)
            results["slowest"] = {"reader": reader, "input": shape, "max_s": high, "under_target": high < TARGET_S}
    finally:
        devnet.stop()
        server.close()
    print("old pre-scan against the bounded reader:", flush=True)
    results["escaped_quote_reply_old_vs_new"] = before_and_after([8, 16, 32, 64] + ([128] if args.old_128k else []))
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"slowest: {results['slowest']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
