"""The devnet's market, as data: tokens, prices, pools, vaults, lending reserves, and depth.

Prices are realistic round figures (USD, exact Decimals). Liquidity is deep enough for a $100k
treasury to rebalance with well under 1% slippage, and some assets (SOL, UNI) trade only against
WETH on Uniswap V3, so reaching them from a stablecoin forces a multi-hop route.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

FEED_DECIMALS = 8


@dataclass(frozen=True)
class TokenSpec:
    symbol: str
    name: str
    decimals: int
    price_usd: Decimal


@dataclass(frozen=True)
class V3PoolSpec:
    token_a: str
    token_b: str
    fee: int  # hundredths of a bip: 100 = 0.01%, 500 = 0.05%, 3000 = 0.3%
    depth_usd: Decimal  # USD value per side in the concentrated position
    range_pct: Decimal  # concentrated position spans price / (1 + r) .. price * (1 + r)
    full_range_usd: Decimal  # USD per side in a full-range position (liquidity at any price)


@dataclass(frozen=True)
class V2PairSpec:
    token_a: str
    token_b: str
    depth_usd: Decimal


@dataclass(frozen=True)
class VaultSpec:
    key: str
    name: str  # snekmate: at most 25 characters
    symbol: str  # snekmate: at most 5 characters
    asset: str
    apy: Decimal  # yield the devnet drips into the vault as time passes (a fraction: 0.04 = 4%)
    seed_usd: Decimal  # deposits from other users
    initial_gain: Decimal  # share price above 1 at deployment (a fraction)


@dataclass(frozen=True)
class ReserveSpec:
    symbol: str
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    optimal_usage: Decimal  # fractions; converted to ray on deployment
    slope1: Decimal
    slope2: Decimal
    supplied_usd: Decimal  # supplied by other users
    borrowed_usd: Decimal  # borrowed by other users, so supply rates are real and non-zero


TOKENS: tuple[TokenSpec, ...] = (
    TokenSpec("WETH", "Wrapped Ether", 18, Decimal("3000")),
    TokenSpec("WBTC", "Wrapped BTC", 8, Decimal("60000")),
    TokenSpec("USDC", "USD Coin", 6, Decimal("1")),
    TokenSpec("USDT", "Tether USD", 6, Decimal("1")),
    TokenSpec("DAI", "Dai Stablecoin", 18, Decimal("1")),
    TokenSpec("SOL", "Wrapped SOL (Wormhole)", 9, Decimal("150")),
    TokenSpec("UNI", "Uniswap", 18, Decimal("8")),
)

V3_POOLS: tuple[V3PoolSpec, ...] = (
    V3PoolSpec("WETH", "USDC", 500, Decimal("8_000_000"), Decimal("0.25"), Decimal("1_000_000")),
    V3PoolSpec("WBTC", "WETH", 500, Decimal("4_000_000"), Decimal("0.25"), Decimal("500_000")),
    V3PoolSpec("WBTC", "USDC", 3000, Decimal("2_000_000"), Decimal("0.25"), Decimal("250_000")),
    V3PoolSpec("DAI", "USDC", 100, Decimal("4_000_000"), Decimal("0.01"), Decimal("200_000")),
    V3PoolSpec("USDT", "USDC", 100, Decimal("4_000_000"), Decimal("0.01"), Decimal("200_000")),
    V3PoolSpec("SOL", "WETH", 3000, Decimal("2_000_000"), Decimal("0.30"), Decimal("250_000")),
    V3PoolSpec("UNI", "WETH", 3000, Decimal("1_000_000"), Decimal("0.30"), Decimal("150_000")),
)

V2_PAIRS: tuple[V2PairSpec, ...] = (
    V2PairSpec("WETH", "USDC", Decimal("2_000_000")),
    V2PairSpec("WETH", "DAI", Decimal("1_000_000")),
    V2PairSpec("WBTC", "WETH", Decimal("1_000_000")),
)

VAULTS: tuple[VaultSpec, ...] = (
    VaultSpec("vault_usdc_a", "Steady USDC Vault", "svUSD", "USDC", Decimal("0.040"), Decimal("2_000_000"), Decimal("0.010")),
    VaultSpec("vault_usdc_b", "Boosted USDC Vault", "bvUSD", "USDC", Decimal("0.065"), Decimal("1_500_000"), Decimal("0.020")),
    VaultSpec("vault_dai", "Savings DAI Vault", "svDAI", "DAI", Decimal("0.050"), Decimal("1_000_000"), Decimal("0.015")),
)

AAVE_RESERVES: tuple[ReserveSpec, ...] = (
    ReserveSpec("USDC", 7700, 8000, 10450, Decimal("0.90"), Decimal("0.04"), Decimal("0.60"), Decimal("5_000_000"), Decimal("3_500_000")),
    ReserveSpec("DAI", 7500, 8000, 10500, Decimal("0.90"), Decimal("0.04"), Decimal("0.75"), Decimal("3_000_000"), Decimal("1_500_000")),
    ReserveSpec("WETH", 8000, 8250, 10500, Decimal("0.80"), Decimal("0.038"), Decimal("0.80"), Decimal("9_000_000"), Decimal("2_000_000")),
    ReserveSpec("WBTC", 7000, 7500, 10650, Decimal("0.45"), Decimal("0.04"), Decimal("3.00"), Decimal("3_000_000"), Decimal("300_000")),
)

AAVE_RESERVE_FACTOR_BPS = 1000


def token(symbol: str) -> TokenSpec:
    for spec in TOKENS:
        if spec.symbol == symbol:
            return spec
    raise KeyError(f"no devnet token {symbol!r}; known: {', '.join(t.symbol for t in TOKENS)}")


def feed_answer(price_usd: Decimal) -> int:
    """A USD price as a Chainlink-style answer with `FEED_DECIMALS` decimals."""
    return int(price_usd.scaleb(FEED_DECIMALS))
