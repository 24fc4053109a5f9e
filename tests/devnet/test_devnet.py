"""Devnet: the chain's JSON-RPC and the coordinator start on loopback, both URLs answer over real HTTP, and stop
frees their ports and the temporary data folder."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from farnode_desktop.core.errors import FarNodeError
from farnode_desktop.devnet import Devnet, Rules


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


def _rpc(url: str, method: str) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())["result"]


def _port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _bindable(address: tuple[str, int]) -> bool:
    """As the devnet's own servers bind (SO_REUSEADDR): refused only while something listens there."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError:
            return False
    return True


def test_a_devnet_starts_on_loopback_answers_and_stop_frees_its_ports() -> None:
    devnet = Devnet(Rules())
    info = devnet.start()
    try:
        assert devnet.start() is info  # starting twice is the same devnet
        coordinator, rpc = _port(info.coordinator_url), _port(info.rpc_url)
        assert coordinator[0] == rpc[0] == "127.0.0.1" and coordinator[1] != rpc[1]
        network = _get(info.coordinator_url + "/v1/network")
        assert (network["chain_id"], network["token"], network["rpc_url"]) == (
            info.chain_id, info.token_address, info.rpc_url)
        assert int(_rpc(info.rpc_url, "eth_chainId"), 16) == info.chain_id
        assert not _bindable(coordinator) and not _bindable(rpc)  # both are really listening
        data_dir = Path(devnet.store._db.execute("PRAGMA database_list").fetchone()[2]).parent
        assert data_dir.is_dir()
        assert info.as_json()["gateway_token"] == info.gateway_token
    finally:
        devnet.stop()
    assert devnet.info is None
    assert _bindable(coordinator) and _bindable(rpc)
    assert not data_dir.exists()  # the temporary folder went with it
    with pytest.raises(OSError):
        urllib.request.urlopen(info.coordinator_url + "/v1/network", timeout=2)


def test_a_devnet_refuses_anything_but_loopback_and_a_busy_port_in_plain_words() -> None:
    with pytest.raises(FarNodeError, match="loopback only"):
        Devnet(host="0.0.0.0")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        devnet = Devnet(coordinator_port=port)
        with pytest.raises(FarNodeError, match=f"cannot listen on 127.0.0.1:{port}") as caught:
            devnet.start()
    assert caught.value.hint == "choose another port or stop what uses it"
    assert devnet.info is None
