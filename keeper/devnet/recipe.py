"""The devnet deployment recipe: mainnet-in-a-box from the protocols' own published bytecode.

Deploys, in order: test tokens with real decimals (Aave's MintableERC20) and WETH9, a
Chainlink-style feed per asset (MockV3Aggregator), Multicall3 at its canonical address, Uniswap V2
(factory, Router02, pairs) and V3 (factory with the 100 tier, position manager, SwapRouter02,
QuoterV2, pools with concentrated and full-range liquidity), three snekmate ERC-4626 vaults, and a
real Aave V3 market with borrowing. Every figure comes from `keeper.devnet.market`.

The recipe is deterministic: the same deployer and nonces give the same addresses every time, so
a cached state and its address book always agree.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from eth_utils import to_checksum_address
from web3 import Web3

from keeper.devnet import market
from keeper.devnet.artifacts import npm_artifact, vyper_artifact
from keeper.devnet.book import AaveEntry, AddressBook, PoolEntry, TokenEntry, VaultEntry
from keeper.devnet.txs import Txs
from keeper.money import to_raw

log = logging.getLogger(__name__)

MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
ZERO_ADDRESS = "0x" + "00" * 20
FAR_DEADLINE = 2**40
MAX_UINT = 2**256 - 1
RAY = 10**27
# anvil's accounts by what they do on the devnet; the last three have no history, for tests that
# need fresh nonces (e.g. a hot key signing raw transactions).
ROLES = ("deployer", "owner", "keeper", "guardian", "lp", "borrower", "stranger", "spare1", "spare2", "spare3")

A = {  # artifact paths inside node_modules
    "erc20": "@aave/core-v3/artifacts/contracts/mocks/tokens/MintableERC20.sol/MintableERC20.json",
    "weth9": "@uniswap/v2-periphery/build/WETH9.json",
    "feed": "@chainlink/contracts/abi/v0.7/MockV3Aggregator.json",
    "v2_factory": "@uniswap/v2-core/build/UniswapV2Factory.json",
    "v2_pair": "@uniswap/v2-core/build/UniswapV2Pair.json",
    "v2_router": "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    "v3_factory": "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
    "v3_pool": "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
    "nft_descriptor_lib": "@uniswap/v3-periphery/artifacts/contracts/libraries/NFTDescriptor.sol/NFTDescriptor.json",
    "descriptor": "@uniswap/v3-periphery/artifacts/contracts/NonfungibleTokenPositionDescriptor.sol/NonfungibleTokenPositionDescriptor.json",
    "position_manager": "@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json",
    "quoter_v2": "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
    "swap_router02": "@uniswap/swap-router-contracts/artifacts/contracts/SwapRouter02.sol/SwapRouter02.json",
}
AAVE = "@aave/core-v3/artifacts/contracts/"
AAVE_LOGIC = ("SupplyLogic", "BorrowLogic", "LiquidationLogic", "EModeLogic", "BridgeLogic", "PoolLogic")


def artifact(key: str):
    return npm_artifact(A[key])


def aave_artifact(relative: str):
    return npm_artifact(AAVE + relative)


def snekmate_vault_source() -> Path:
    import snekmate

    return Path(next(iter(snekmate.__path__))) / "extensions" / "erc4626.vy"


class Recipe:
    """Runs the deployment against a fresh anvil and returns the address book."""

    def __init__(self, w3: Web3):
        self.w3 = w3
        accounts = [to_checksum_address(a) for a in w3.eth.accounts]
        self.accounts = dict(zip(ROLES, accounts, strict=False))
        self.tx = Txs(w3, self.accounts["deployer"])
        self.lp = self.accounts["lp"]
        self.tokens: dict[str, object] = {}  # symbol -> web3 Contract
        self.feeds: dict[str, object] = {}

    # -- the whole recipe -------------------------------------------------------------------
    def run(self) -> AddressBook:
        self.deploy_tokens_and_feeds()
        self.place_multicall3()
        v2 = self.deploy_uniswap_v2()
        v3, v3_pools = self.deploy_uniswap_v3(v2["factory"])
        v2_pairs = self.add_v2_liquidity(v2)
        vaults = self.deploy_vaults()
        aave = self.deploy_aave()
        return AddressBook(
            chain_id=self.w3.eth.chain_id,
            multicall3=MULTICALL3,
            weth=self.tokens["WETH"].address,
            accounts=self.accounts,
            tokens={
                s: TokenEntry(c.address, market.token(s).decimals, self.feeds[s].address)
                for s, c in self.tokens.items()
            },
            uniswap_v2=v2,
            uniswap_v3=v3,
            v3_pools=v3_pools,
            v2_pairs=v2_pairs,
            vaults=vaults,
            aave=aave,
        )

    # -- tokens, feeds, Multicall3 ----------------------------------------------------------
    def deploy_tokens_and_feeds(self) -> None:
        weth = self.tx.deploy(artifact("weth9"))
        for spec in market.TOKENS:
            contract = weth if spec.symbol == "WETH" else self.tx.deploy(artifact("erc20"), spec.name, spec.symbol, spec.decimals)
            self.tokens[spec.symbol] = contract
            self.feeds[spec.symbol] = self.tx.deploy(artifact("feed"), market.FEED_DECIMALS, market.feed_answer(spec.price_usd))
        # The liquidity provider funds every pool, vault and reserve below.
        for spec in market.TOKENS:
            self.give(spec.symbol, self.lp, Decimal("400_000_000") / spec.price_usd)

    def give(self, symbol: str, to: str, tokens: Decimal) -> int:
        """Mint (or wrap) `tokens` whole units of `symbol` to `to`; returns raw units."""
        raw = to_raw(tokens, market.token(symbol).decimals)
        contract = self.tokens[symbol]
        if symbol == "WETH":
            self.tx.send(contract.functions.deposit(), sender=to, value=raw)
        else:
            self.tx.send(contract.get_function_by_signature("mint(address,uint256)")(to, raw))
        return raw

    def approve(self, symbol: str, spender: str, owner: str) -> None:
        self.tx.send(self.tokens[symbol].functions.approve(spender, MAX_UINT), sender=owner)

    def place_multicall3(self) -> None:
        from ape_ethereum.multicall.constants import MULTICALL3_CODE

        self.tx.raw("anvil_setCode", MULTICALL3, "0x" + bytes(MULTICALL3_CODE).hex())

    # -- Uniswap ----------------------------------------------------------------------------
    def deploy_uniswap_v2(self) -> dict[str, str]:
        factory = self.tx.deploy(artifact("v2_factory"), self.accounts["deployer"])
        router = self.tx.deploy(artifact("v2_router"), factory.address, self.tokens["WETH"].address)
        return {"factory": factory.address, "router": router.address}

    def add_v2_liquidity(self, v2: dict[str, str]) -> list[PoolEntry]:
        router = self.tx.contract(v2["router"], artifact("v2_router"))
        factory = self.tx.contract(v2["factory"], artifact("v2_factory"))
        pairs = []
        for spec in market.V2_PAIRS:
            amounts = [self.raw_for_usd(s, spec.depth_usd) for s in (spec.token_a, spec.token_b)]
            for symbol in (spec.token_a, spec.token_b):
                self.approve(symbol, router.address, self.lp)
            a, b = self.tokens[spec.token_a].address, self.tokens[spec.token_b].address
            self.tx.send(router.functions.addLiquidity(a, b, *amounts, 0, 0, self.lp, FAR_DEADLINE), sender=self.lp)
            t0, t1 = self.sorted_symbols(spec.token_a, spec.token_b)
            pairs.append(PoolEntry(factory.functions.getPair(a, b).call(), t0, t1, 3000))
        return pairs

    def deploy_uniswap_v3(self, v2_factory: str) -> tuple[dict[str, str], list[PoolEntry]]:
        weth = self.tokens["WETH"].address
        factory = self.tx.deploy(artifact("v3_factory"))
        self.tx.send(factory.functions.enableFeeAmount(100, 1))
        library = self.tx.deploy(artifact("nft_descriptor_lib"))
        descriptor = self.tx.deploy(
            artifact("descriptor").link({"NFTDescriptor": library.address}), weth, b"ETH".ljust(32, b"\0")
        )
        manager = self.tx.deploy(artifact("position_manager"), factory.address, weth, descriptor.address)
        router = self.tx.deploy(artifact("swap_router02"), v2_factory, factory.address, manager.address, weth)
        quoter = self.tx.deploy(artifact("quoter_v2"), factory.address, weth)
        for spec in market.TOKENS:
            self.approve(spec.symbol, manager.address, self.lp)
        pools = [self.create_v3_pool(factory, manager, spec) for spec in market.V3_POOLS]
        addresses = {
            "factory": factory.address,
            "position_manager": manager.address,
            "swap_router02": router.address,
            "quoter_v2": quoter.address,
            "descriptor": descriptor.address,
        }
        return addresses, pools

    def create_v3_pool(self, factory, manager, spec: market.V3PoolSpec) -> PoolEntry:
        s0, s1 = self.sorted_symbols(spec.token_a, spec.token_b)
        t0, t1 = market.token(s0), market.token(s1)
        a0, a1 = self.tokens[s0].address, self.tokens[s1].address
        price = Fraction(t0.price_usd) / Fraction(t1.price_usd) * Fraction(10) ** (t1.decimals - t0.decimals)
        sqrt_price_x96 = math.isqrt(price.numerator * 2**192 // price.denominator)
        self.tx.send(manager.functions.createAndInitializePoolIfNecessary(a0, a1, spec.fee, sqrt_price_x96), sender=self.lp)
        spacing = factory.functions.feeAmountTickSpacing(spec.fee).call()
        tick = math.floor(math.log(price.numerator / price.denominator) / math.log(1.0001))
        half_width = math.log(1 + float(spec.range_pct)) / math.log(1.0001)
        ranges = [
            (spec.depth_usd, _floor_to(tick - half_width, spacing), _ceil_to(tick + half_width, spacing)),
            (spec.full_range_usd, _ceil_to(-887272, spacing), _floor_to(887272, spacing)),
        ]
        for usd, lower, upper in ranges:
            params = (
                a0, a1, spec.fee, lower, upper,
                self.raw_for_usd(s0, usd), self.raw_for_usd(s1, usd), 0, 0, self.lp, FAR_DEADLINE,
            )
            self.tx.send(manager.functions.mint(params), sender=self.lp)
        pool = factory.functions.getPool(a0, a1, spec.fee).call()
        return PoolEntry(pool, s0, s1, spec.fee)

    def sorted_symbols(self, a: str, b: str) -> tuple[str, str]:
        return (a, b) if int(self.tokens[a].address, 16) < int(self.tokens[b].address, 16) else (b, a)

    def raw_for_usd(self, symbol: str, usd: Decimal) -> int:
        spec = market.token(symbol)
        return to_raw(usd / spec.price_usd, spec.decimals)

    # -- ERC-4626 vaults --------------------------------------------------------------------
    def deploy_vaults(self) -> dict[str, VaultEntry]:
        vault_artifact = vyper_artifact(snekmate_vault_source())
        vaults = {}
        for spec in market.VAULTS:
            asset = self.tokens[spec.asset]
            vault = self.tx.deploy(vault_artifact, spec.name, spec.symbol, asset.address, 0, spec.name, "1")
            seed = self.raw_for_usd(spec.asset, spec.seed_usd)
            self.tx.send(asset.functions.approve(vault.address, seed), sender=self.lp)
            self.tx.send(vault.functions.deposit(seed, self.lp), sender=self.lp)
            gain = int(seed * spec.initial_gain)  # a donation: the share price rises above 1
            self.tx.send(asset.functions.transfer(vault.address, gain), sender=self.lp)
            vaults[spec.key] = VaultEntry(vault.address, spec.asset, str(spec.apy))
        return vaults

    # -- Aave V3 ----------------------------------------------------------------------------
    def deploy_aave(self) -> AaveEntry:
        deployer = self.accounts["deployer"]
        provider = self.tx.deploy(aave_artifact("protocol/configuration/PoolAddressesProvider.sol/PoolAddressesProvider.json"), "Devnet Market", deployer)
        self.tx.send(provider.functions.setACLAdmin(deployer))  # must precede the ACLManager
        acl = self.tx.deploy(aave_artifact("protocol/configuration/ACLManager.sol/ACLManager.json"), provider.address)
        self.tx.send(provider.functions.setACLManager(acl.address))
        for role in ("addPoolAdmin", "addAssetListingAdmin", "addRiskAdmin"):
            self.tx.send(getattr(acl.functions, role)(deployer))

        libraries = {
            name: self.tx.deploy(aave_artifact(f"protocol/libraries/logic/{name}.sol/{name}.json")).address
            for name in AAVE_LOGIC
        }
        flash = aave_artifact("protocol/libraries/logic/FlashLoanLogic.sol/FlashLoanLogic.json")
        libraries["FlashLoanLogic"] = self.tx.deploy(flash.link({"BorrowLogic": libraries["BorrowLogic"]})).address
        pool_impl = self.tx.deploy(aave_artifact("protocol/pool/Pool.sol/Pool.json").link(libraries), provider.address)
        self.tx.send(provider.functions.setPoolImpl(pool_impl.address))
        pool = self.tx.contract(provider.functions.getPool().call(), aave_artifact("protocol/pool/Pool.sol/Pool.json"))

        configurator_logic = self.tx.deploy(aave_artifact("protocol/libraries/logic/ConfiguratorLogic.sol/ConfiguratorLogic.json"))
        configurator_artifact = aave_artifact("protocol/pool/PoolConfigurator.sol/PoolConfigurator.json")
        configurator_impl = self.tx.deploy(configurator_artifact.link({"ConfiguratorLogic": configurator_logic.address}))
        self.tx.send(provider.functions.setPoolConfiguratorImpl(configurator_impl.address))
        configurator = self.tx.contract(provider.functions.getPoolConfigurator().call(), configurator_artifact)

        symbols = [spec.symbol for spec in market.AAVE_RESERVES]
        oracle = self.tx.deploy(
            aave_artifact("misc/AaveOracle.sol/AaveOracle.json"), provider.address,
            [self.tokens[s].address for s in symbols], [self.feeds[s].address for s in symbols],
            ZERO_ADDRESS, ZERO_ADDRESS, 10**market.FEED_DECIMALS,
        )
        self.tx.send(provider.functions.setPriceOracle(oracle.address))
        data_provider = self.tx.deploy(aave_artifact("misc/AaveProtocolDataProvider.sol/AaveProtocolDataProvider.json"), provider.address)
        self.tx.send(provider.functions.setPoolDataProvider(data_provider.address))

        implementations = {
            kind: self.tx.deploy(aave_artifact(f"protocol/tokenization/{kind}.sol/{kind}.json"), pool.address).address
            for kind in ("AToken", "StableDebtToken", "VariableDebtToken")
        }
        self.tx.send(configurator.functions.initReserves([self._reserve_input(spec, provider, implementations) for spec in market.AAVE_RESERVES]))
        for spec in market.AAVE_RESERVES:
            asset = self.tokens[spec.symbol].address
            self.tx.send(configurator.functions.configureReserveAsCollateral(asset, spec.ltv_bps, spec.liquidation_threshold_bps, spec.liquidation_bonus_bps))
            self.tx.send(configurator.functions.setReserveBorrowing(asset, True))
            self.tx.send(configurator.functions.setReserveFactor(asset, market.AAVE_RESERVE_FACTOR_BPS))

        a_tokens, debt_tokens = {}, {}
        for spec in market.AAVE_RESERVES:
            reserve = pool.functions.getReserveData(self.tokens[spec.symbol].address).call()
            a_tokens[spec.symbol] = reserve[8]  # aTokenAddress
            debt_tokens[spec.symbol] = reserve[10]  # variableDebtTokenAddress
        self.seed_aave_market(pool)
        return AaveEntry(
            pool=pool.address, addresses_provider=provider.address, configurator=configurator.address,
            oracle=oracle.address, data_provider=data_provider.address, acl_manager=acl.address,
            a_tokens=a_tokens, variable_debt_tokens=debt_tokens,
        )

    def _reserve_input(self, spec: market.ReserveSpec, provider, implementations: dict[str, str]) -> tuple:
        strategy = self.tx.deploy(
            aave_artifact("protocol/pool/DefaultReserveInterestRateStrategy.sol/DefaultReserveInterestRateStrategy.json"),
            provider.address, _ray(spec.optimal_usage), 0, _ray(spec.slope1), _ray(spec.slope2), 0, 0, 0, 0, _ray(Decimal("0.2")),
        )
        token = market.token(spec.symbol)
        return (
            implementations["AToken"], implementations["StableDebtToken"], implementations["VariableDebtToken"],
            token.decimals, strategy.address, self.tokens[spec.symbol].address, self.accounts["deployer"], ZERO_ADDRESS,
            f"Aave Devnet {spec.symbol}", f"a{spec.symbol}", f"Aave Devnet Variable Debt {spec.symbol}", f"variableDebt{spec.symbol}",
            f"Aave Devnet Stable Debt {spec.symbol}", f"stableDebt{spec.symbol}", b"",
        )

    def seed_aave_market(self, pool) -> None:
        """Other users supply every reserve; a borrower posts WETH and WBTC and borrows, so supply
        rates are real and non-zero."""
        borrower = self.accounts["borrower"]
        for spec in market.AAVE_RESERVES:
            self.approve(spec.symbol, pool.address, self.lp)
            amount = self.raw_for_usd(spec.symbol, spec.supplied_usd)
            self.tx.send(pool.functions.supply(self.tokens[spec.symbol].address, amount, self.lp, 0), sender=self.lp)
        collateral = {"WETH": Decimal("15_000_000"), "WBTC": Decimal("6_000_000")}
        for symbol, usd in collateral.items():
            raw = self.give(symbol, borrower, usd / market.token(symbol).price_usd)
            self.approve(symbol, pool.address, borrower)
            self.tx.send(pool.functions.supply(self.tokens[symbol].address, raw, borrower, 0), sender=borrower)
        for spec in market.AAVE_RESERVES:
            amount = self.raw_for_usd(spec.symbol, spec.borrowed_usd)
            self.tx.send(pool.functions.borrow(self.tokens[spec.symbol].address, amount, 2, 0, borrower), sender=borrower)


def _ray(fraction: Decimal) -> int:
    return int(fraction * RAY)


def _floor_to(tick: float, spacing: int) -> int:
    return math.floor(tick / spacing) * spacing


def _ceil_to(tick: float, spacing: int) -> int:
    return math.ceil(tick / spacing) * spacing
