"""TEMPORARY: a bare anvil with test tokens, feeds and vaults, until the shared devnet lands.

This is the one file to delete when `keeper.devnet` (issue 2) provides the session `devnet`
fixture: everything here has a counterpart there (anvil from npm, a tx sender, an address book of
tokens with feeds and ERC-4626 vaults, role accounts). The rebalancer world (`rebalancer_world`)
only uses the attributes this file mimics: `w3`, `txs`, `accounts`, `book.tokens`, `book.vaults`.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound

from keeper.devnet.artifacts import NODE_MODULES, Artifact, npm_artifact, vyper_artifact

GAS = 15_000_000
FEED_DECIMALS = 8
ROLES = ("deployer", "owner", "keeper", "guardian", "lp", "stranger")
# symbol -> (decimals, USD price)
TOKENS = {"USDC": (6, Decimal(1)), "DAI": (18, Decimal(1)), "WBTC": (8, Decimal(60_000)), "WETH": (18, Decimal(3_000))}
VAULTS = {"vUSDC_A": "USDC", "vUSDC_B": "USDC", "vDAI": "DAI"}


class SetupError(RuntimeError):
    """A transaction reverted; the message names the call and the reason."""


class Txs:
    """Sends as unlocked anvil accounts (the shape of keeper.devnet.txs.Txs)."""

    def __init__(self, w3: Web3, default_sender: str):
        self.w3 = w3
        self.sender = default_sender

    def deploy(self, artifact: Artifact, *args: Any, sender: str | None = None):
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = {"from": sender or self.sender, "gas": hex(GAS), "data": factory.constructor(*args).data_in_transaction}
        receipt = self._send(tx, f"deploy {artifact.name}")
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def send(self, call: Any, *, sender: str | None = None, gas: int = GAS) -> dict:
        tx = {"from": sender or self.sender, "to": call.address, "data": call._encode_transaction_data(), "gas": hex(gas)}
        return self._send(tx, f"{call.fn_name}")

    def contract(self, address: str, artifact: Artifact):
        return self.w3.eth.contract(address=to_checksum_address(address), abi=artifact.abi)

    def raw(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(method, list(params))
        if "error" in response:
            raise SetupError(f"{method}: {response['error']}")
        return response.get("result")

    def _send(self, tx: dict, what: str) -> dict:
        tx_hash = self.raw("eth_sendTransaction", tx)
        for _ in range(500):
            try:
                receipt = self.w3.eth.get_transaction_receipt(tx_hash)
                break
            except TransactionNotFound:
                time.sleep(0.01)
        else:
            raise SetupError(f"no receipt for {what}")
        if receipt["status"] != 1:
            raise SetupError(f"{what} reverted: {self._reason(tx, receipt)}")
        return receipt

    def _reason(self, tx: dict, receipt: dict) -> str:
        call = {k: tx[k] for k in ("from", "to", "data") if k in tx}
        try:
            self.w3.eth.call(call, receipt["blockNumber"] - 1)
        except ContractLogicError as e:
            return str(e)
        return "no reason"


@dataclass
class TokenEntry:
    address: str
    decimals: int
    feed: str


@dataclass
class VaultEntry:
    address: str
    asset: str  # symbol of the underlying


@dataclass
class Book:
    accounts: dict[str, str]
    tokens: dict[str, TokenEntry] = field(default_factory=dict)
    vaults: dict[str, VaultEntry] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class BareChain:
    w3: Web3
    txs: Txs
    accounts: dict[str, str]
    book: Book
    process: subprocess.Popen

    def snapshot(self) -> str:
        return self.txs.raw("evm_snapshot")

    def revert(self, snapshot: str) -> None:
        assert self.txs.raw("evm_revert", snapshot)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def anvil_binary() -> Path:
    found = sorted(NODE_MODULES.glob("@foundry-rs/anvil-linux-*/bin/anvil"))
    if not found:
        raise FileNotFoundError("anvil not found in node_modules/@foundry-rs: run `make install`")
    return found[0]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(log_dir: Path) -> BareChain:
    port = _free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "anvil.log", "wb") as log:
        process = subprocess.Popen(
            [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(port), "--accounts", str(len(ROLES))],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    for _ in range(1_500):
        try:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
            urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"}), timeout=1)
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"anvil exited: see {log_dir / 'anvil.log'}") from None
            time.sleep(0.02)
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}, cache_allowed_requests=True))
    accounts = dict(zip(ROLES, w3.eth.accounts, strict=True))
    chain = BareChain(w3, Txs(w3, accounts["deployer"]), accounts, Book(accounts), process)
    try:
        _deploy_market(chain)
    except BaseException:
        chain.stop()
        raise
    return chain


def _deploy_market(chain: BareChain) -> None:
    txs, book = chain.txs, chain.book
    erc20 = npm_artifact("@aave/core-v3/artifacts/contracts/mocks/tokens/MintableERC20.sol/MintableERC20.json")
    feed_art = npm_artifact("@chainlink/contracts/abi/v0.7/MockV3Aggregator.json")
    for symbol, (decimals, price) in TOKENS.items():
        token = txs.deploy(erc20, symbol, symbol, decimals)
        feed = txs.deploy(feed_art, FEED_DECIMALS, int(price * 10**FEED_DECIMALS))
        book.tokens[symbol] = TokenEntry(token.address, decimals, feed.address)
        book.prices[symbol] = price
    import snekmate

    vault_art = vyper_artifact(Path(snekmate.__path__[0]) / "extensions" / "erc4626.vy")
    for key, asset in VAULTS.items():
        vault = txs.deploy(vault_art, key, "v" + asset[:4], book.tokens[asset].address, 0, key, "1")
        book.vaults[key] = VaultEntry(vault.address, asset)
