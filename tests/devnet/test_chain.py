"""The devnet chain: FarToken deployed on an in-process EVM, readable over JSON-RPC by a plain web3."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from web3 import HTTPProvider, Web3

from farnode_desktop.core.payouts import ChainReader, PayoutMismatch, PayoutPending
from farnode_desktop.devnet import Devnet
from tests.devnet.helpers import KeySigner

ROOT = Path(__file__).resolve().parents[2]


def test_web3_over_http_reads_the_chain_and_confirms_a_payout(devnet: Devnet) -> None:
    assert devnet.info is not None
    to = KeySigner().address()
    tx = devnet.chain.pay("0x" + "ab" * 32, to, 12345)
    w3 = Web3(HTTPProvider(devnet.info.rpc_url))
    assert w3.eth.chain_id == devnet.info.chain_id
    assert w3.eth.get_transaction_receipt(tx)["status"] == 1
    reader = ChainReader(devnet.info.rpc_url)
    assert reader.token_balance(devnet.info.token_address, to) == 12345
    proof = reader.confirm_transfer(tx, devnet.info.token_address, to, 12345)
    assert proof.recipient == to and proof.value == 12345 and proof.receipt["status"] == 1
    with pytest.raises(PayoutMismatch, match="does not transfer 12346"):
        reader.confirm_transfer(tx, devnet.info.token_address, to, 12346)
    with pytest.raises(PayoutMismatch):
        reader.confirm_transfer(tx, devnet.info.token_address, KeySigner().address(), 12345)
    with pytest.raises(PayoutMismatch):
        reader.confirm_transfer(tx, devnet.info.treasury, to, 12345)  # right amount, wrong token
    with pytest.raises(PayoutPending):
        reader.confirm_transfer("0x" + "00" * 32, devnet.info.token_address, to, 12345)


def test_the_rpc_refuses_to_spend_the_unlocked_treasury(devnet: Devnet) -> None:
    assert devnet.info is not None
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_sendTransaction",
        "params": [{"from": devnet.info.treasury, "to": KeySigner().address(), "value": "0x1"}],
    }
    req = urllib.request.Request(
        devnet.info.rpc_url, data=json.dumps(call).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        reply = json.loads(resp.read())
    assert reply["error"]["code"] == -32601


def test_committed_artifact_matches_a_fresh_solc_compile() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed, so solc cannot recompile the contract")
    if not (ROOT / "node_modules" / "solc").is_dir():
        pytest.skip("solc is not installed from npm (run `npm ci` at the repository root)")
    result = subprocess.run(
        ["node", "scripts/compile_contracts.js", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_the_token_is_an_erc20_with_the_whole_supply_at_the_treasury(devnet: Devnet) -> None:
    token = devnet.chain.token
    assert token.functions.symbol().call() == "FAR" and token.functions.decimals().call() == 18
    assert devnet.chain.balance_of(devnet.chain.treasury) == token.functions.totalSupply().call()
