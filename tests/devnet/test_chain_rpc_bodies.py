"""The devnet's JSON-RPC endpoint under hostile request bodies: deep, broken, non-UTF-8, non-Unicode or oversized
bodies and a Content-Length that is not a number are all a JSON-RPC parse error (-32700) saying why, and the
endpoint keeps answering after each."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

import pytest

from farnode_desktop.devnet import Devnet
from farnode_desktop.devnet.chain import MAX_RPC_BODY


def rpc_post(url: str, body: bytes, length: str | None = None) -> tuple[int, Any]:
    """POST `body` with Content-Length `length` (its real length unless given): the status and the JSON answer."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest("POST", "/")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)) if length is None else length)
        conn.endheaders()
        conn.send(body)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.parametrize("body,length,reason", [
    (b"[" * 100_000, None, "nested deeper than 64 levels"),
    (b"[" * 70 + b'"' + b'\\"' * 50_000, None, "nested deeper than 64 levels"),
    (b'{"method": "\\udc00"}', None, "not Unicode"),
    (b"\xff\xfe", None, "utf-8"),
    (b"{", None, "parse error"),
    (b"{}", "-1", "Content-Length"),
    (b"{}", "\u00b2", "Content-Length"),  # a digit to str.isdigit, not to int()
    (b"", str(MAX_RPC_BODY + 1), "Content-Length"),
])
def test_a_hostile_body_is_a_parse_error_and_the_rpc_keeps_answering(devnet: Devnet, body: bytes,
                                                                      length: str | None, reason: str) -> None:
    assert devnet.info is not None
    status, reply = rpc_post(devnet.info.rpc_url, body, length)
    assert status == 200 and reply["error"]["code"] == -32700 and reason in reply["error"]["message"], reply
    status, reply = rpc_post(devnet.info.rpc_url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId",
                                                             "params": []}).encode())
    assert status == 200 and int(reply["result"], 16) == devnet.info.chain_id
