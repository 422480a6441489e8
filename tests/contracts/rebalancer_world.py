"""The rebalancer's test world: the contract on the devnet among honest and hostile parts.

Given a devnet (`keeper.devnet.devnet.Devnet`: real Uniswap, ERC-4626 vaults, an Aave V3 market,
Chainlink-style feeds), `World` deploys the test-only contracts of `hostile/` (a router that is
honest until told otherwise, quirky tokens, a lying vault), gives each quirky token a $1 feed,
deploys a BatchRebalancer of its own through `keeper.devnet.rebalancer` (every devnet token,
vault, the Aave pool and its aTokens, SwapRouter02 and the hostile router allowed) and funds it
from the devnet's liquidity provider. Helpers build steps, send batches as any account and turn
reverts into `Reverted(reason)`. The hostile router pays whatever its calldata says, so a test
plays the market exactly; SwapRouter02 trades against the devnet's real pools.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_abi import decode

from keeper.chain.rebalancer import ALL, Batch, PostCondition, Step, StepKind
from keeper.chain.rebalancer_setup import AssetSetup
from keeper.devnet import rebalancer as devnet_rebalancer
from keeper.devnet.artifacts import npm_artifact, vyper_artifact

HOSTILE = Path(__file__).resolve().parent / "hostile"
FEED_DECIMALS = 8
EXECUTE_GAS = 8_000_000
SWAP_AMOUNT_OFFSET = 4 + 2 * 32  # HostileRouter.swap(token_in, token_out, amount_in, ...)
MAX_LOSS_BPS = 100
FAR = 2**40  # a deadline far in the future, unix seconds


class Reverted(Exception):
    """A transaction reverted; `reason` is the revert string ('' when there was none)."""

    def __init__(self, reason: str):
        super().__init__(reason or "<no reason>")
        self.reason = reason


@contextlib.contextmanager
def reverts(reason: str | None = None):
    """Expect a revert; with `reason`, its revert string must contain it."""
    try:
        yield
    except Reverted as e:
        if reason is not None and reason not in e.reason:
            raise AssertionError(f"reverted with {e.reason!r}, expected {reason!r}") from e
    else:
        raise AssertionError(f"did not revert (expected {reason!r})")


def aave_pool_artifact():
    return npm_artifact("@aave/core-v3/artifacts/contracts/protocol/pool/Pool.sol/Pool.json")


def hostile(name: str):
    return vyper_artifact(HOSTILE / f"{name}.vy")


@dataclass
class Asset:
    symbol: str
    token: Any  # web3 contract
    decimals: int
    feed: Any  # web3 contract (MockV3Aggregator)
    price: Decimal  # USD


class World:
    def __init__(self, net: Any, rebalancer_build: Any = None):
        self._rebalancer_build = rebalancer_build
        self.chain = net
        self.w3 = net.w3
        self.txs = net.txs
        book = net.book
        self.book = book
        self.accounts = book.accounts
        self.owner = book.accounts["owner"]
        self.keeper = book.accounts["keeper"]
        self.guardian = book.accounts["guardian"]
        self.stranger = book.accounts["stranger"]
        self.deployer = book.accounts["deployer"]
        self.lp = book.accounts["lp"]
        self._erc20 = npm_artifact("@aave/core-v3/artifacts/contracts/mocks/tokens/MintableERC20.sol/MintableERC20.json")
        self._feed = npm_artifact("@chainlink/contracts/abi/v0.7/MockV3Aggregator.json")
        self._vault = vyper_artifact(Path(__import__("snekmate").__path__[0]) / "extensions" / "erc4626.vy")
        self.assets: dict[str, Asset] = {}
        for symbol, entry in book.tokens.items():
            feed = self.txs.contract(entry.feed, self._feed)
            self.assets[symbol] = Asset(
                symbol, self.txs.contract(entry.address, self._erc20), entry.decimals, feed,
                Decimal(feed.functions.latestAnswer().call()) / 10**FEED_DECIMALS,
            )
        self.vaults = {key: self.txs.contract(v.address, self._vault) for key, v in book.vaults.items()}
        self.vault_asset = {key: v.asset for key, v in book.vaults.items()}
        self.aave = book.aave
        self.a_tokens = {symbol: self.txs.contract(a, self._erc20) for symbol, a in book.aave.a_tokens.items()}
        self.swap_router02 = book.uniswap_v3["swap_router02"]
        self.minted: set[str] = set()  # symbols this world deployed (and may mint)
        self._deploy_hostile()
        self._deploy_rebalancer()
        self._fund()

    # -- setup -----------------------------------------------------------------------------

    def _deploy_hostile(self) -> None:
        txs = self.txs
        self.router = txs.deploy(hostile("HostileRouter"))
        quirky = hostile("QuirkyToken")
        specs = {
            "FEE": (quirky, ("FEE", 6, 100, False)),  # 1% fee on every transfer
            "RACE": (quirky, ("RACE", 18, 0, True)),  # approve only from zero
            "NORET": (hostile("NoReturnToken"), ("NORET", 6)),  # USDT-style: no return values, approve from zero
        }
        for symbol, (artifact, args) in specs.items():
            token = txs.deploy(artifact, *args)
            feed = txs.deploy(self._feed, FEED_DECIMALS, 10**FEED_DECIMALS)
            self.assets[symbol] = Asset(symbol, token, args[1], feed, Decimal(1))
            self.minted.add(symbol)
        self.lying_vault = txs.deploy(hostile("LyingVault"), self.address("USDC"), 6)
        self.vaults["LIAR"] = self.lying_vault
        self.vault_asset["LIAR"] = "USDC"

    def _deploy_rebalancer(self) -> None:
        setup = devnet_rebalancer.setup_from_book(self.book, keeper=self.keeper, guardian=self.guardian,
                                                  max_loss_bps=MAX_LOSS_BPS)
        extra = {s: {"token": self.address(s), "feed": self.assets[s].feed.address, "staleness": 86_400}
                 for s in self.minted}
        self.setup = setup.model_copy(update={
            "assets": setup.assets | {s: AssetSetup(**v) for s, v in extra.items()},
            "vaults": (*setup.vaults, self.lying_vault.address),
            "routers": setup.routers | {self.router.address: self.router.address},
        })
        self.rebalancer = devnet_rebalancer.deploy(
            self.w3, self.setup, owner=self.owner, deployer=self.deployer, build=self._rebalancer_build
        )
        devnet_rebalancer.configure(self.w3, self.rebalancer, self.owner, self.setup)

    def _fund(self) -> None:
        holdings = {"USDC": 1_000_000, "DAI": 1_000_000, "WBTC": 10, "WETH": 300, "FEE": 100_000, "RACE": 100_000, "NORET": 100_000}
        for symbol, whole in holdings.items():
            self.give(symbol, self.rebalancer.address, self.raw(symbol, whole))
            self.give(symbol, self.router.address, self.raw(symbol, 100 * whole))
        for key, whole in (("vault_usdc_a", 200_000), ("vault_dai", 100_000), ("LIAR", 50_000)):
            symbol = self.vault_asset[key]
            raw = self.raw(symbol, whole)
            self.send(self.assets[symbol].token.functions.approve(self.vaults[key].address, raw), self.lp)
            self.send(self.vaults[key].functions.deposit(raw, self.rebalancer.address), self.lp)
        pool = self.txs.contract(self.aave.pool, aave_pool_artifact())
        raw = self.raw("USDC", 100_000)
        self.send(self.assets["USDC"].token.functions.approve(self.aave.pool, raw), self.lp)
        self.send(pool.functions.supply(self.address("USDC"), raw, self.rebalancer.address, 0), self.lp)

    # -- reading ---------------------------------------------------------------------------

    has_aave = True

    def a_token_args(self, symbol: str = "USDC") -> tuple[str, str]:
        """(aToken, pool) of `symbol` in the Aave market."""
        return self.aave.a_tokens[symbol], self.aave.pool

    def address(self, name: str) -> str:
        """A token symbol, vault key or "a<SYMBOL>" (an aToken) -> its address."""
        return self.token(name).address

    def token(self, name: str):
        if name in self.assets:
            return self.assets[name].token
        if name in self.vaults:
            return self.vaults[name]
        return self.a_tokens[name.removeprefix("a")]

    def balance(self, name: str, holder: str | None = None) -> int:
        return self.token(name).functions.balanceOf(holder or self.rebalancer.address).call()

    def allowance(self, name: str, spender: str) -> int:
        return self.token(name).functions.allowance(self.rebalancer.address, spender).call()

    def raw(self, symbol: str, whole: int | str | Decimal) -> int:
        return int(Decimal(whole) * 10 ** self.assets[symbol].decimals)

    def fair_out(self, token_in: str, token_out: str, amount_in: int) -> int:
        """`amount_in` raw units of token_in, in raw units of token_out, at oracle prices (down)."""
        a, b = self.assets[token_in], self.assets[token_out]
        value = Decimal(amount_in) * a.price / 10**a.decimals
        return int(value / b.price * 10**b.decimals)

    # -- acting ----------------------------------------------------------------------------

    def give(self, symbol: str, to: str, raw: int) -> None:
        """`raw` units of `symbol` to `to`: minted for this world's own tokens, else from the
        devnet's liquidity provider."""
        token = self.assets[symbol].token.functions
        if symbol in self.minted:
            self.send(token.mint(to, raw), self.deployer)
        else:
            self.send(token.transfer(to, raw), self.lp)

    def set_price(self, symbol: str, price: Decimal) -> None:
        asset = self.assets[symbol]
        self.send(asset.feed.functions.updateAnswer(int(price * 10**FEED_DECIMALS)), self.deployer)
        asset.price = price

    def reload_prices(self) -> None:
        """Read every feed again (after a chain revert)."""
        for asset in self.assets.values():
            asset.price = Decimal(asset.feed.functions.latestAnswer().call()) / 10**FEED_DECIMALS

    def warp(self, seconds: int) -> None:
        self.txs.raw("evm_increaseTime", seconds)
        self.txs.raw("evm_mine")

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def send(self, call: Any, sender: str, gas: int = EXECUTE_GAS) -> dict:
        """Send as an unlocked account; a revert raises `Reverted` with the contract's reason.
        Returns the receipt as web3 formats it."""
        raw = self.send_raw(call.address, call._encode_transaction_data(), sender, gas)
        return self.w3.eth.get_transaction_receipt(raw["transactionHash"])

    def send_raw(self, to: str, data: str, sender: str, gas: int = EXECUTE_GAS) -> dict:
        """`send` for calldata encoded elsewhere (hex); the receipt is a plain JSON-RPC dict."""
        tx = {"from": sender, "to": to, "data": data, "gas": hex(gas)}
        tx_hash = self.txs.raw("eth_sendTransaction", tx)
        for _ in range(500):
            receipt = self.txs.raw("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                break
            time.sleep(0.005)
        else:
            raise RuntimeError(f"no receipt for {tx_hash}")
        if int(receipt["status"], 16) != 1:
            raise Reverted(self._reason(tx, int(receipt["blockNumber"], 16)))
        return receipt

    def _reason(self, tx: dict, block: int) -> str:
        """Replay a reverted transaction on the state before it, for its revert string."""
        reply = self.w3.provider.make_request("eth_call", [tx, hex(block - 1)])
        error = reply.get("error")
        if not error:
            return ""
        data = error.get("data")
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x08c379a0"):
            (reason,) = decode(["string"], bytes.fromhex(data[10:]))
            return reason
        return ""

    # -- batches ---------------------------------------------------------------------------

    def swap(
        self, token_in: str, token_out: str, amount_in: int, amount_out: int | None = None, *,
        min_out: int | None = None, recipient: str | None = None, router: str | None = None,
    ) -> Step:
        """A SWAP through the HostileRouter paying `amount_out` (default: fair at oracle prices;
        for ALL, `amount_out` must be given). min_out defaults to what is paid."""
        if amount_out is None:
            amount_out = self.fair_out(token_in, token_out, amount_in)
        data = bytes.fromhex(self.router.encode_abi(
            "swap", args=[self.address(token_in), self.address(token_out), 0 if amount_in == ALL else amount_in,
                          amount_out, recipient or self.rebalancer.address],
        )[2:])
        return Step.swap(
            router or self.router.address, self.address(token_in), self.address(token_out), amount_in,
            amount_out if min_out is None else min_out, data, SWAP_AMOUNT_OFFSET,
        )

    def uniswap(self, route: list, amount_in: int, *, min_out: int | None = None, slippage_bps: int = 30,
                placeholder: int | None = None) -> Step:
        """A SWAP through the devnet's SwapRouter02 along `route` = [symbol, fee, symbol, ...]
        (one fee: exactInputSingle; more: exactInput). min_out defaults to QuoterV2's quote less
        `slippage_bps`. For ALL, pass `placeholder`: the amount to quote and encode, which the
        contract overwrites with what it holds at run time."""
        from keeper.chain.rebalancer import amount_offset
        from keeper.devnet.recipe import artifact

        encoded_amount = placeholder if amount_in == ALL else amount_in
        tokens, fees = [self.address(s) for s in route[::2]], route[1::2]
        quoter = self.txs.contract(self.book.uniswap_v3["quoter_v2"], artifact("quoter_v2"))
        router = self.txs.contract(self.swap_router02, artifact("swap_router02"))
        if len(fees) == 1:
            quote = quoter.functions.quoteExactInputSingle((tokens[0], tokens[1], encoded_amount, fees[0], 0)).call()[0]
            params = (tokens[0], tokens[1], fees[0], self.rebalancer.address, encoded_amount, 0, 0)
            data = bytes.fromhex(router.encode_abi("exactInputSingle", args=[params])[2:])
        else:
            path = bytes.fromhex(tokens[0][2:])
            for fee, token in zip(fees, tokens[1:], strict=True):
                path += fee.to_bytes(3, "big") + bytes.fromhex(token[2:])
            quote = quoter.functions.quoteExactInput(path, encoded_amount).call()[0]
            data = bytes.fromhex(router.encode_abi("exactInput", args=[(path, self.rebalancer.address, encoded_amount, 0)])[2:])
        if min_out is None:
            min_out = quote * (10_000 - slippage_bps) // 10_000
        return Step.swap(self.swap_router02, tokens[0], tokens[-1], amount_in, min_out, data,
                         amount_offset(data, encoded_amount))

    def supply(self, symbol: str, amount: int, min_out: int = 0) -> Step:
        return Step.aave_supply(self.aave.pool, self.address(symbol), self.address("a" + symbol), amount, min_out)

    def withdraw_aave(self, symbol: str, amount: int, min_out: int = 0) -> Step:
        return Step.aave_withdraw(self.aave.pool, self.address("a" + symbol), self.address(symbol), amount, min_out)

    def deposit(self, vault: str, assets: int, min_shares: int = 0) -> Step:
        return Step.vault_deposit(self.address(vault), self.address(self.vault_asset[vault]), assets, min_shares)

    def redeem(self, vault: str, shares: int, min_assets: int = 0) -> Step:
        return Step.vault_redeem(self.address(vault), self.address(self.vault_asset[vault]), shares, min_assets)

    def next_batch_id(self) -> int:
        return self.rebalancer.functions.last_batch_id().call() + 1

    def execute(
        self, steps: list[Step | tuple], post: list[PostCondition | tuple] = (), *, sender: str | None = None,
        batch_id: int | None = None, deadline: int = FAR,
    ) -> dict:
        """Run a batch as `sender` (default: the keeper). Steps may be raw ABI tuples, to send
        what the Python checks would refuse."""
        call = self.rebalancer.functions.execute(
            self.next_batch_id() if batch_id is None else batch_id, deadline,
            [s.as_abi() if isinstance(s, Step) else s for s in steps],
            [p.as_abi() if isinstance(p, PostCondition) else p for p in post],
        )
        return self.send(call, sender or self.keeper)

    def execute_batch(self, batch: Batch, sender: str | None = None) -> dict:
        return self.send(self.rebalancer.functions.execute(*batch.args()), sender or self.keeper)


def raw_step(kind: StepKind, target: str, token_in: str, token_out: str, amount_in: int, min_out: int = 0,
             data: bytes = b"", amount_offset: int = 0) -> tuple:
    """A step as an ABI tuple, unchecked: for sending what `Step` would refuse."""
    return (int(kind), target, token_in, token_out, amount_in, min_out, amount_offset, data)
