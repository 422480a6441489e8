"""The devnet: a running anvil carrying the recipe's protocols and the demo treasury.

`Devnet.start()` starts anvil from a cached state dump when one matches the current recipe and
pinned packages (about a quarter of a second), and otherwise deploys from scratch (a few seconds)
and caches the result. The cache key hashes everything the state depends on, so editing the
recipe, a contract or a pinned package rebuilds it; a corrupt or stale cache is detected on start
and rebuilt with a warning. `Devnet.start(fork_url=...)` forks a real chain instead (nothing is
deployed: the real protocols are there).

Tests and scripts use this API; `keeper devnet up|down|status` wraps it for people.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from web3 import Web3

from keeper.devnet import market
from keeper.devnet.anvil import AnvilProcess, anvil_binary, start_anvil
from keeper.devnet.artifacts import REPO_ROOT, vyper_artifact
from keeper.devnet.book import AddressBook
from keeper.devnet.demo_treasury import fund_demo_treasury
from keeper.devnet.rebalancer import deploy_rebalancer
from keeper.devnet.recipe import Recipe, artifact, snekmate_vault_source
from keeper.devnet.txs import Txs
from keeper.errors import ConfigError

log = logging.getLogger(__name__)

SECONDS_PER_YEAR = 365 * 24 * 3600


def devnet_dir() -> Path:
    """Where caches, logs and the running devnet's record live (git-ignored)."""
    return Path(os.environ.get("KEEPER_DEVNET_DIR", REPO_ROOT / ".devnet"))


def cache_key() -> str:
    """Hash of everything the deployed state depends on."""
    digest = hashlib.sha256()
    inputs = sorted((REPO_ROOT / "keeper" / "devnet").glob("*.py"))
    inputs += sorted((REPO_ROOT / "contracts").rglob("*.vy*")) if (REPO_ROOT / "contracts").is_dir() else []
    inputs += [REPO_ROOT / "package-lock.json", REPO_ROOT / "uv.lock"]
    for path in inputs:
        if path.is_file():
            digest.update(str(path.relative_to(REPO_ROOT)).encode())
            digest.update(path.read_bytes())
    digest.update(str(anvil_binary().stat().st_size).encode())
    return digest.hexdigest()[:16]


@dataclass
class Devnet:
    """A running devnet (or fork). `book` is None on a fork: the real protocols' addresses apply."""

    anvil: AnvilProcess | None
    url: str
    w3: Web3
    book: AddressBook | None

    # -- lifecycle -----------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        *,
        port: int | None = None,
        fork_url: str | None = None,
        fork_block: int | None = None,
        rebuild: bool = False,
        detach: bool = False,
    ) -> Devnet:
        root = devnet_dir()
        if fork_url:
            anvil = start_anvil(port=port, fork_url=fork_url, fork_block=fork_block, log_dir=root / "logs", detach=detach, startup_timeout=120)
            return cls(anvil, anvil.url, _web3(anvil.url), None)
        state, book_path = cached_state(rebuild)
        anvil = start_anvil(port=port, load_state=state, log_dir=root / "logs", detach=detach)
        devnet = cls(anvil, anvil.url, _web3(anvil.url), AddressBook.load(book_path))
        problem = devnet._check_state()
        if problem:
            devnet.stop()
            log.warning("devnet state cache is stale or corrupt (%s): rebuilding it", problem)
            state, book_path = cached_state(rebuild=True)
            anvil = start_anvil(port=port, load_state=state, log_dir=root / "logs", detach=detach)
            devnet = cls(anvil, anvil.url, _web3(anvil.url), AddressBook.load(book_path))
        devnet.refresh_feeds()
        devnet.book.save(devnet_dir() / "addresses.json")  # what keeper.yaml's address_book names
        return devnet

    def stop(self) -> None:
        if self.anvil is not None:
            self.anvil.stop()

    def __enter__(self) -> Devnet:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _check_state(self) -> str | None:
        """Why the loaded chain does not match the address book, or None if it does."""
        if self.w3.eth.chain_id != self.book.chain_id:
            return f"chain id {self.w3.eth.chain_id} != {self.book.chain_id}"
        for name, address in (("Aave pool", self.book.aave.pool), ("Multicall3", self.book.multicall3), ("WETH", self.book.weth)):
            if len(self.w3.eth.get_code(address)) == 0:
                return f"no code at the {name} address"
        return None

    # -- handles -------------------------------------------------------------------------------
    @property
    def txs(self) -> Txs:
        return Txs(self.w3, self.book.accounts["deployer"])

    def rpc(self, method: str, *params):
        response = self.w3.provider.make_request(method, list(params))
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response.get("result")

    # -- chain control (tests, demo) -----------------------------------------------------------
    def snapshot(self) -> str:
        return self.rpc("evm_snapshot")

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc("evm_revert", snapshot_id):
            raise RuntimeError(f"evm_revert({snapshot_id}) failed: snapshot ids are single-use")

    @property
    def chain_id(self) -> int:
        return self.anvil.chain_id if self.anvil else self.w3.eth.chain_id

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def set_next_base_fee(self, wei: int) -> None:
        """Base fee of the next block only (anvil forgets it after one block)."""
        self.rpc("anvil_setNextBlockBaseFeePerGas", hex(wei))

    def set_price(self, symbol: str, usd: Decimal) -> None:
        feed = self.txs.contract(self.book.token(symbol).feed, artifact("feed"))
        self.txs.send(feed.functions.updateAnswer(market.feed_answer(usd)))

    def price(self, symbol: str) -> Decimal:
        feed = self.txs.contract(self.book.token(symbol).feed, artifact("feed"))
        return Decimal(feed.functions.latestAnswer().call()).scaleb(-market.FEED_DECIMALS)

    def refresh_feeds(self) -> None:
        """Re-post every feed's answer so `updatedAt` is now (a live Chainlink network does this)."""
        for symbol in self.book.tokens:
            feed = self.txs.contract(self.book.token(symbol).feed, artifact("feed"))
            self.txs.send(feed.functions.updateAnswer(feed.functions.latestAnswer().call()))

    def advance_time(self, seconds: int) -> None:
        """Move time forward: Aave accrues on its own; each vault earns its APY (a donation of
        totalAssets x apy x seconds / year); feeds are refreshed; one block is mined."""
        vault_abi = vyper_artifact(snekmate_vault_source())
        erc20 = artifact("erc20")
        for vault in self.book.vaults.values():
            total = self.txs.contract(vault.address, vault_abi).functions.totalAssets().call()
            earned = int(Decimal(total) * Decimal(vault.apy) * seconds / SECONDS_PER_YEAR)
            if earned:
                asset = self.txs.contract(self.book.token(vault.asset).address, erc20)
                self.txs.send(asset.functions.transfer(vault.address, earned), sender=self.book.accounts["lp"])
        self.rpc("evm_increaseTime", hex(seconds))
        self.refresh_feeds()


def _web3(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))


@contextmanager
def _cache_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "cache.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes building at once wait for each other
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cached_state(rebuild: bool) -> tuple[Path, Path]:
    """(state dump, address book) for the current recipe, building them if needed."""
    root = devnet_dir()
    key = cache_key()
    folder = root / "cache" / key
    state, book = folder / "state.json", folder / "addresses.json"
    with _cache_lock(root):
        if not rebuild and state.is_file() and book.is_file() and _looks_whole(state):
            return state, book
        build_state(folder)
        for other in (root / "cache").iterdir():
            if other.is_dir() and other.name != key:
                shutil.rmtree(other, ignore_errors=True)
    return state, book


def _looks_whole(state: Path) -> bool:
    """A cheap check that a dump is not truncated: it is JSON that ends as an object does."""
    try:
        with open(state, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"}"
    except OSError:
        return False


def build_state(folder: Path) -> float:
    """Deploy everything on a fresh anvil, dump its state into `folder`; returns seconds taken."""
    started = time.monotonic()
    tmp = folder.with_name(folder.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with start_anvil(log_dir=devnet_dir() / "logs") as anvil:
        w3 = _web3(anvil.url)
        recipe = Recipe(w3)
        book = recipe.run()
        accounts = book.accounts
        rebalancer = deploy_rebalancer(w3, book, accounts["owner"], accounts["keeper"], accounts["guardian"])
        book.extra["rebalancer"] = rebalancer
        fund_demo_treasury(recipe.tx, book, rebalancer)  # the treasury's funds live in the contract
        dump = w3.provider.make_request("anvil_dumpState", [])
        if "error" in dump:
            raise ConfigError(f"anvil could not dump its state: {dump['error']}")
        (tmp / "state.json").write_bytes(gzip.decompress(bytes.fromhex(dump["result"][2:])))
        book.save(tmp / "addresses.json")
    (tmp / "meta.json").write_text(json.dumps({"built_at": time.time(), "seconds": time.monotonic() - started}))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    elapsed = time.monotonic() - started
    log.info("devnet state built in %.1f s", elapsed)
    return elapsed
