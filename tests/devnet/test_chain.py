"""The devnet chain: FarToken deployed on an in-process EVM, readable over JSON-RPC by a plain web3."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from web3 import HTTPProvider, Web3

from farnode_desktop.core.earnings.payouts import ChainReader, PayoutMismatch, PayoutPending
from farnode_desktop.devnet import Devnet
from tests.devnet.helpers import KeySigner

ROOT = Path(__file__).resolve().parents[2]


def test_web3_over_http_reads_the_chain_and_confirms_a_payout(devnet: Devnet) -> None:
    assert devnet.info is not None
    to = KeySigner().address()
    claim = "0x" + "ab" * 32
    tx = devnet.chain.pay(claim, to, 12345)
    w3 = Web3(HTTPProvider(devnet.info.rpc_url))
    assert w3.eth.chain_id == devnet.info.chain_id
    assert w3.eth.get_transaction_receipt(tx)["status"] == 1
    reader = ChainReader(devnet.info.rpc_url)
    assert reader.chain_id() == devnet.info.chain_id
    assert reader.token_balance(devnet.info.token_address, to) == 12345
    proof = reader.confirm_payout(tx, devnet.info.token_address, claim, to, 12345)
    assert proof.recipient == to and proof.value == 12345 and proof.receipt["status"] == 1
    with pytest.raises(PayoutMismatch, match="does not transfer 12346"):
        reader.confirm_payout(tx, devnet.info.token_address, claim, to, 12346)
    with pytest.raises(PayoutMismatch):
        reader.confirm_payout(tx, devnet.info.token_address, claim, KeySigner().address(), 12345)
    with pytest.raises(PayoutMismatch):
        reader.confirm_payout(tx, devnet.info.treasury, claim, to, 12345)  # right amount, wrong token
    with pytest.raises(PayoutMismatch, match="does not pay this claim"):  # right payout, another claim's id
        reader.confirm_payout(tx, devnet.info.token_address, "0x" + "cd" * 32, to, 12345)
    with pytest.raises(PayoutPending):
        reader.confirm_payout("0x" + "00" * 32, devnet.info.token_address, claim, to, 12345)


def test_the_treasury_key_is_random_unlisted_and_written_nowhere(devnet: Devnet) -> None:
    """The treasury is neither an eth-tester account (whose keys are public: 0x...01, 0x...02, ...) nor
    spendable through the RPC; its key lives only in the devnet process's memory."""
    from eth_account import Account

    assert devnet.info is not None
    treasury = devnet.info.treasury
    tester_accounts = {a.lower() for a in devnet.chain.w3.eth.accounts}
    well_known = {Account.from_key(n.to_bytes(32, "big")).address.lower() for n in range(1, 11)}
    assert treasury.lower() not in tester_accounts | well_known
    assert devnet.chain.balance_of(treasury) > 0
    for account in devnet.chain.w3.eth.accounts:  # no unlocked, funded account holds any FAR
        assert devnet.chain.balance_of(account) == 0
    with Devnet() as other:  # a fresh key at every start
        assert other.info is not None and other.info.treasury != treasury
        raw = bytes(other.chain._treasury_account.key)
        data_dir = Path(other.store._db.execute("PRAGMA database_list").fetchone()[2]).parent
        files = [p for p in data_dir.rglob("*") if p.is_file()]
        assert files  # the coordinator's database at least
        for path in files:
            data = path.read_bytes()
            assert raw not in data and raw.hex().encode() not in data.lower()


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


def test_the_app_knows_the_payout_contracts_code_and_the_devnet_deploys_exactly_it(devnet: Devnet) -> None:
    """The signing policy's code hash is the artifact's runtime code, and that is what the devnet runs."""
    from eth_hash.auto import keccak

    from farnode_desktop.core.earnings.signing_policy import DEVNET_CHAIN_ID, PAYOUT_CONTRACT_CODE_HASH
    from farnode_desktop.devnet.chain import contract_artifact

    assert devnet.info is not None
    runtime = bytes.fromhex(contract_artifact()["deployedBytecode"].removeprefix("0x"))
    assert "0x" + keccak(runtime).hex() == PAYOUT_CONTRACT_CODE_HASH
    reader = ChainReader(devnet.info.rpc_url)
    assert reader.code_hash(devnet.info.token_address) == PAYOUT_CONTRACT_CODE_HASH
    assert reader.code_hash(devnet.info.treasury) != PAYOUT_CONTRACT_CODE_HASH
    assert reader.chain_id() == devnet.info.chain_id == DEVNET_CHAIN_ID
