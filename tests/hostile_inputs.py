"""Hypothesis strategies for hostile input, shared by the fuzz tests of every reader of outside data: JSON values
with numbers at and past every limit and digits int() reads differently, the text shapes that broke parsers before
(escaped quotes inside deep brackets, deep nesting, long strings, lone surrogates), and valid documents with one
value swapped for a hostile one."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import strategies as st

# Whole numbers at the edges that matter: JSON-safe, SQLite's 64 bits, uint256, and past each.
EDGE_INTS = [0, 1, -1, 2**31, 2**53 - 1, 2**53, 2**63 - 1, 2**63, 2**64, 2**256 - 1, 2**256, -(2**63) - 1]
# str.isdigit() is True for all of these; int() reads some (other scripts' decimal digits) and refuses others.
UNICODE_DIGITS = ["\u00b2", "\u0661\u0662", "\U0001d7d9", "12\u0663", "\u2460", "\uff11\uff12", "\u0966"]
NUMBER_TEXTS = ["1" * 5000, "1e999999", "-0", " 1", "1 ", "0x10", "1_000", "+1", "", "NaN", "Infinity", "1.0"]

ints = st.one_of(st.integers(), st.sampled_from(EDGE_INTS), st.integers(-(2**300), 2**300))
number_texts = st.one_of(ints.map(str), st.sampled_from(UNICODE_DIGITS + NUMBER_TEXTS))
leaves = st.one_of(st.none(), st.booleans(), ints, st.floats(), number_texts, st.text(max_size=300))
json_values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=16), inner, max_size=6)),
    max_leaves=40,
)


def deep(depth: int, open_: str = "[", close: str = "]", inner: str = "1") -> str:
    return open_ * depth + inner + close * depth


# Text shapes (complete documents or not): each is either JSON a reader may accept or something it must refuse.
SHAPES = [
    "[" * 100_000,
    '{"a":' * 50_000,
    "[" * 64 + '"' + '\\"' * 20_000,  # the escaped-quote shape that made the old pre-scan take minutes
    "[" * 64 + '"' + '\\"' * 20_000 + '"' + "]" * 64,
    '["' + "\\" * 20_001 + '"]',
    "[" * 63 + "[]," * 5000 + "1" + "]" * 63,
    deep(65), deep(64), deep(65, "{\"a\":", "}"),
    '"' + "x" * 200_000 + '"',
    '{"a": "' + "\u00e9" * 50_000 + '"}',
    '{"k": "\\ud800"}', '["\\udfff"]', '["\\ud83d\\ude00"]',
    "[" + "1" * 5000 + "]", "[1e999999]", "[-1e999999]", "[NaN]", "[Infinity]", "[-Infinity]",
    "\ufeff{}", "{}\x00", "", " ", "nul", "[1,]", '{"a" 1}', "\x1b[31m",
]
shapes = st.sampled_from(SHAPES)
texts = st.one_of(shapes, json_values.map(json.dumps), st.text(max_size=200))
raw_bytes = st.one_of(texts.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=300))


@st.composite
def swapped(draw: st.DrawFn, document: Any) -> Any:
    """`document` (a JSON value) with one value somewhere inside replaced by a hostile one, or one key dropped."""
    doc = json.loads(json.dumps(document))
    paths: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        paths.append(path)
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            walk(child, [*path, key])

    walk(doc, [])
    path = draw(st.sampled_from(paths))
    replacement = draw(st.one_of(leaves, json_values, number_texts))
    if not path:
        return replacement
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return doc


class ReplyServer:
    """An HTTP server on loopback that answers every request with `status` and the raw `body` set last: a hostile
    coordinator or chain RPC for the fuzz tests of the app's real clients."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        outer = self
        self.status, self.body = 200, b"{}"

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client stopped reading (a reply over its cap): its right
                    self.wfile.write(outer.body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, body: bytes, status: int = 200) -> None:
        self.status, self.body = status, body

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def file_contents(template: Any) -> st.SearchStrategy[bytes]:
    """What a damaged or hand-edited JSON file may hold: hostile shapes, any JSON, the file's own JSON with one value
    swapped, bytes that are not UTF-8."""
    return st.one_of(raw_bytes, json_values.map(lambda v: json.dumps(v).encode()),
                     swapped(template).map(lambda v: json.dumps(v).encode()))
