"""A copy of the FAR token (same code, another deployer, another address) on the devnet's own chain, named as token
and verifying contract by a hostile coordinator on loopback that then "pays" from it: the app signs nothing and
confirms nothing, says so plainly, and the real flow through the pinned token still pays."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.earnings.claims import ClaimService
from farnode_desktop.core.earnings.coordinator import CoordinatorClient
from farnode_desktop.core.earnings.eip712 import Domain, message_digest, payout_claim_message
from farnode_desktop.core.earnings.ledger import ClaimState, Ledger
from farnode_desktop.core.earnings.network import pin_local_devnet
from farnode_desktop.core.earnings.payouts import ChainReader, PayoutMismatch
from farnode_desktop.core.earnings.signing_policy import SigningRefused, check_typed_data
from farnode_desktop.core.paths import AppPaths
from farnode_desktop.core.settings import Settings, SettingsStore
from farnode_desktop.devnet import Devnet
from farnode_desktop.devnet.chain import contract_artifact
from tests.core.earnings.test_coordinator_hostile import PEER, Hostile, Reply, _app_core, _earn, hostile, js

__all__ = ["hostile"]  # the hostile coordinator fixture, shared
from tests.core.earnings.test_wallet import PHRASE, PHRASE_KEY
from tests.devnet.helpers import KeySigner, clean_stderr, devnet_networks, keyring_session


class CopiedToken:
    """FarToken's very bytecode deployed again on the devnet chain by another account (eth-tester's second one),
    which is also the copy's treasury: it can "pay" any claim id to anyone."""

    def __init__(self, devnet: Devnet) -> None:
        chain = devnet.chain
        artifact = contract_artifact()
        self.chain = chain
        with chain.lock:
            self.deployer = chain.w3.eth.accounts[1]
            factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
            receipt = chain.w3.eth.wait_for_transaction_receipt(
                factory.constructor(10**27).transact({"from": self.deployer}))
            self.address = str(receipt["contractAddress"])
            self.contract = chain.w3.eth.contract(address=self.address, abi=artifact["abi"])

    def pay(self, claim_id: str, to: str, value: int) -> str:
        with self.chain.lock:
            tx = self.contract.functions.payout(bytes.fromhex(claim_id[2:]), to, value).transact(
                {"from": self.deployer})
            self.chain.w3.eth.wait_for_transaction_receipt(tx)
        return "0x" + bytes(tx).hex()

    def balance_of(self, owner: str) -> int:
        with self.chain.lock:
            return int(self.contract.functions.balanceOf(owner).call())


def _copy_coordinator(hostile: Hostile, copy: CopiedToken) -> None:
    """The hostile coordinator: the copy is its token and verifying contract, and every claim is "paid" from it."""
    network = {**hostile.upstream_json("/v1/network"), "token": copy.address, "verifying_contract": copy.address}
    paid: dict[str, dict[str, Any]] = {}

    def route(method: str, path: str, body: bytes) -> Reply | None:
        if path == "/v1/network":
            return js(network)
        if method == "POST" and path == "/v1/claims":
            posted = json.loads(body)
            msg, dom = posted["message"], posted["domain"]
            typed = payout_claim_message(Domain(dom["chainId"], dom["verifyingContract"]), msg["wallet"],
                                         amount=msg["amount"], fee=msg["fee"], nonce=msg["nonce"],
                                         deadline=msg["deadline"])
            claim_id, net = message_digest(typed), msg["amount"] - msg["fee"]
            paid[claim_id] = {"claim_id": claim_id, "wallet": msg["wallet"], "amount": str(msg["amount"]),
                              "fee": str(msg["fee"]), "net_amount": str(net), "nonce": msg["nonce"],
                              "state": "paid", "reason": None, "tx_hash": copy.pay(claim_id, msg["wallet"], net),
                              "credits": []}
            return js(paid[claim_id], 201)
        if method == "GET" and path.startswith("/v1/claims/") and path.rsplit("/", 1)[1] in paid:
            return js(paid[path.rsplit("/", 1)[1]])
        return None

    hostile.route = route


def test_the_copy_is_a_real_far_token_contract_at_another_address(devnet: Devnet) -> None:
    assert devnet.info is not None
    copy = CopiedToken(devnet)
    reader = ChainReader(devnet.info.rpc_url)
    assert copy.address.lower() != devnet.info.token_address.lower()
    assert reader.code_hash(copy.address) == reader.code_hash(devnet.info.token_address)  # same code: no help
    assert copy.balance_of(copy.deployer) == 10**27


def test_the_app_signs_nothing_for_a_copied_token_and_the_real_flow_still_pays(
    devnet: Devnet, hostile: Hostile, tmp_path: Path
) -> None:
    assert devnet.info is not None
    signer = KeySigner()
    _earn(devnet, signer)
    copy = CopiedToken(devnet)
    _copy_coordinator(hostile, copy)
    core = _app_core(tmp_path, Settings(coordinator_url=hostile.url, chain_rpc_url=devnet.info.rpc_url,
                                        serve_on_launch=False), devnet)
    try:
        wallet = core.wallet()
        assert wallet is not None
        wallet.import_hex(signer.key)
        service = core.claim_service()
        with pytest.raises(SigningRefused) as refused:
            service.start(service.quote())
        text = str(refused.value)
        assert f"pays in token {copy.address}" in text and devnet.info.token_address in text
        assert "pinned by this installation" in text and "nothing was signed" in text and refused.value.hint
        core.start(serve=True)  # serving nodes with peer ids: a binding for the copy is refused too
        with pytest.raises(SigningRefused, match="pays in token"):
            core.bind_nodes()
        # a caller that skips every check still meets the wallet's own policy
        now = int(core.clock.wall())
        for contract in (copy.address, devnet.info.treasury):
            typed = payout_claim_message(Domain(devnet.info.chain_id, contract), signer.address(), amount=10**16,
                                         fee=10**13, nonce=0, deadline=now + 600)
            with pytest.raises(SigningRefused, match=f"not the payout contract {devnet.info.token_address}"):
                wallet.sign_typed_data(typed)
        assert core.ledger.claims() == [] and not [h for h in hostile.hits if h[0] == "POST"]
        assert copy.balance_of(signer.address()) == 0 and devnet.chain.balance_of(signer.address()) == 0

        hostile.route = lambda m, p, b: None  # the coordinator names the real token again: the real flow pays
        service = core.claim_service()
        quote = service.quote()
        record = service.follow(service.start(quote), timeout_s=20)
        assert record.state is ClaimState.CONFIRMED, record.reason
        assert record.token == devnet.info.token_address
        assert devnet.chain.balance_of(signer.address()) == quote.net_amount
    finally:
        core.shutdown(timeout_s=1)


def test_a_payout_from_the_copy_is_never_confirmed(devnet: Devnet, hostile: Hostile, farnode_home: Path) -> None:
    """A claim signed for the copy (by a FarNode from before the pin, or a signer outside the app) that the copy then
    "pays": the payout is not FAR, the claim fails with that reason, and no payout is recorded."""
    assert devnet.info is not None
    signer = KeySigner()
    _earn(devnet, signer)
    copy = CopiedToken(devnet)
    _copy_coordinator(hostile, copy)
    networks = devnet_networks(devnet.info)
    client = CoordinatorClient(hostile.url)
    ledger = Ledger(AppPaths.default().ensure().ledger_file)
    now = int(time.time())
    typed = payout_claim_message(Domain(devnet.info.chain_id, copy.address), signer.address(), amount=10**16,
                                 fee=10**13, nonce=0, deadline=now + 600)
    record = ledger.prepare_claim(coordinator_url=hostile.url, token=copy.address, typed_data=typed)
    record = ledger.mark_signed(record.id, signer.sign_typed_data(typed))
    service = ClaimService(signer, client, ledger, ChainReader(devnet.info.rpc_url), networks=networks)
    record = service.advance(record)

    assert record.state is ClaimState.FAILED
    assert f"token {copy.address}" in record.reason and "pinned by this installation" in record.reason
    assert ledger.payout(record.id) is None
    assert copy.balance_of(signer.address()) == 10**16 - 10**13  # the copy did "pay" ...
    assert devnet.chain.balance_of(signer.address()) == 0  # ... but no FAR moved
    # the chain reader itself sees no payout of the pinned contract in the copy's transaction
    with pytest.raises(PayoutMismatch, match="no payout of this token at all"):
        ChainReader(devnet.info.rpc_url).confirm_payout(record.tx_hash, devnet.info.token_address,
                                                        message_digest(typed), signer.address(), 10**16 - 10**13)
    # and the terms check refuses to even build such a claim for the pinned network
    with pytest.raises(SigningRefused):
        check_typed_data(typed, service.terms(CoordinatorClient(devnet.info.coordinator_url).network()),
                         signer.address(), now)


def test_the_cli_refuses_the_copy_in_plain_words(devnet: Devnet, hostile: Hostile, farnode_home: Path) -> None:
    assert devnet.info is not None
    signer = KeySigner(PHRASE_KEY)
    _earn(devnet, signer)
    copy = CopiedToken(devnet)
    _copy_coordinator(hostile, copy)
    paths = AppPaths.default().ensure()
    SettingsStore(paths.config_file).save(Settings(coordinator_url=hostile.url, chain_rpc_url=devnet.info.rpc_url))
    pin_local_devnet(paths, devnet.info.pinned_network())
    script = """
    printf '%s\\n' "$PHRASE" | $FARNODE wallet import >/dev/null || exit 10
    $FARNODE claim --yes
    """
    result = keyring_session(script, {"FARNODE_HOME": str(farnode_home), "PHRASE": PHRASE, "PEER": PEER})
    err = clean_stderr(result.stderr)
    assert result.returncode not in (0, 10), result.stdout + err
    assert "refusing to sign" in err and f"pays in token {copy.address}" in err, err
    assert "Traceback" not in err + result.stdout
    assert not [h for h in hostile.hits if h[0] == "POST"]
    assert copy.balance_of(signer.address()) == 0 and Ledger(paths.ledger_file).claims() == []
