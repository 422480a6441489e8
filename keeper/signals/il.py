"""Impermanent loss: what a Uniswap V2 or V3 position is worth against holding what went in.

This module owns the measurement: the closed-form IL of a full-range (V2) or concentrated (V3)
position for a price move, and the report for a position the treasury actually holds (current
principal from the pool's exact integer maths, the deposited amounts valued at today's prices,
fees earned, configured rewards, the in/out-of-range flag). Deciding what to do about it lives
in `keeper.signals.il_exit`.

Conventions: a pool price is token1 per token0 (Uniswap's). `value_vs_hold` is
value / hold - 1 (<= 0 without fees, -0.0572 for a 2x move of a V2 position); `il` is its loss
form 1 - value / hold (0.0572 for the same move), the figure the exit thresholds compare.
Amounts are raw ints with decimals, USD is `Decimal` per whole token. No I/O, no floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from keeper.money import TokenAmount
from keeper.signals import uniswap_v3_math as v3

IL_CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)
ZERO = Decimal(0)


# --- closed forms (real-valued, for any consistent price units) -----------------------------


def _check_positive(name: str, value: Decimal) -> None:
    if isinstance(value, float):
        raise TypeError(f"{name} must be a Decimal, not a float")
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def v2_value_vs_hold(price_ratio: Decimal) -> Decimal:
    """Full-range LP value / hold value - 1 after the price moves by `price_ratio` (p1 / p0).

    The classic 2 * sqrt(r) / (1 + r) - 1: 0 at r = 1, -5.72 % at r = 2 or r = 1/2.
    """
    _check_positive("price_ratio", price_ratio)
    with localcontext(IL_CONTEXT):
        return 2 * price_ratio.sqrt() / (1 + price_ratio) - 1


def real_amounts(
    liquidity: Decimal, sqrt_price: Decimal, sqrt_lower: Decimal, sqrt_upper: Decimal | None
) -> tuple[Decimal, Decimal]:
    """Token amounts (x, y) of `liquidity` at `sqrt_price`, Uniswap's formulas over the reals.

    `sqrt_lower = 0` and `sqrt_upper = None` describe a full-range (V2) position.
    """
    with localcontext(IL_CONTEXT):
        s = max(sqrt_price, sqrt_lower)
        if sqrt_upper is not None:
            s = min(s, sqrt_upper)
        x = liquidity * (1 / s - (1 / sqrt_upper if sqrt_upper is not None else 0))
        y = liquidity * (s - sqrt_lower)
        return x, y


def v3_value_vs_hold(
    entry_price: Decimal,
    price: Decimal,
    lower_price: Decimal,
    upper_price: Decimal | None,
) -> Decimal:
    """Concentrated LP value / hold value - 1 for a move from `entry_price` to `price`.

    Prices are token1 per token0 in any one unit; `lower_price = 0, upper_price = None` is the
    full range and gives exactly `v2_value_vs_hold(price / entry_price)`.
    """
    for name, value in (("entry_price", entry_price), ("price", price)):
        _check_positive(name, value)
    if lower_price < 0 or (upper_price is not None and upper_price <= lower_price):
        raise ValueError(f"range [{lower_price}, {upper_price}] is not a valid price range")
    with localcontext(IL_CONTEXT):
        sqrt_a = lower_price.sqrt()
        sqrt_b = upper_price.sqrt() if upper_price is not None else None
        x0, y0 = real_amounts(Decimal(1), entry_price.sqrt(), sqrt_a, sqrt_b)
        x1, y1 = real_amounts(Decimal(1), price.sqrt(), sqrt_a, sqrt_b)
        return (x1 * price + y1) / (x0 * price + y0) - 1


# --- positions the treasury holds --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairPrices:
    """USD per whole token of a pool's token0 and token1 (oracle prices, `Decimal`)."""

    token0_usd: Decimal
    token1_usd: Decimal

    def __post_init__(self) -> None:
        _check_positive("token0_usd", self.token0_usd)
        _check_positive("token1_usd", self.token1_usd)

    def value(self, amount0: TokenAmount, amount1: TokenAmount) -> Decimal:
        with localcontext(IL_CONTEXT):
            return amount0.value(self.token0_usd) + amount1.value(self.token1_usd)


@dataclass(frozen=True, slots=True)
class ILReport:
    """One LP position measured against holding its deposit, all USD figures unrounded.

    `principal0/1` is what burning the liquidity returns now, fees excluded; `fees_usd` is
    fees earned (collected or not); `rewards_usd` any configured incentives.
    """

    principal0: TokenAmount
    principal1: TokenAmount
    value_usd: Decimal
    hold_value_usd: Decimal
    fees_usd: Decimal
    rewards_usd: Decimal
    in_range: bool

    @property
    def il_usd(self) -> Decimal:
        """USD lost to price divergence alone (hold - principal value); > 0 is a loss."""
        with localcontext(IL_CONTEXT):
            return self.hold_value_usd - self.value_usd

    @property
    def il(self) -> Decimal:
        """Price-only loss as a fraction of the hold value (0.0572 for a 2x move, V2)."""
        with localcontext(IL_CONTEXT):
            return self.il_usd / self.hold_value_usd if self.hold_value_usd else ZERO

    @property
    def net_usd(self) -> Decimal:
        """What LP-ing earned over holding once fees and rewards count; < 0 is a net loss."""
        with localcontext(IL_CONTEXT):
            return self.value_usd + self.fees_usd + self.rewards_usd - self.hold_value_usd

    @property
    def net_il(self) -> Decimal:
        """Net loss as a fraction of the hold value (fees and rewards included); may be < 0."""
        with localcontext(IL_CONTEXT):
            return -self.net_usd / self.hold_value_usd if self.hold_value_usd else ZERO


@dataclass(frozen=True, slots=True)
class V2Position:
    """A Uniswap V2 LP balance and the pair state read in the same snapshot (all raw units).

    `deposited0/1` are the amounts that went in (from the journal or the Mint event). Fees in V2
    sit inside the reserves; `measure_v2` separates them by valuing the deposited liquidity
    sqrt(deposited0 * deposited1) on the constant-product curve, which is exact for one deposit
    at the pool ratio (what Router02 does). For several deposits at different prices, record
    their combined amounts and expect the fee split to be approximate.
    """

    lp_balance: int
    lp_total_supply: int
    reserve0: int
    reserve1: int
    deposited0: int
    deposited1: int
    decimals0: int
    decimals1: int

    def __post_init__(self) -> None:
        if not 0 < self.lp_balance <= self.lp_total_supply:
            raise ValueError("lp_balance must be > 0 and <= lp_total_supply")
        if self.reserve0 <= 0 or self.reserve1 <= 0:
            raise ValueError("the pair's reserves must both be > 0")
        if self.deposited0 <= 0 or self.deposited1 <= 0:
            raise ValueError("deposited0 and deposited1 must be > 0: record the deposit amounts")


def measure_v2(
    position: V2Position, prices: PairPrices, *, rewards_usd: Decimal = ZERO
) -> ILReport:
    """Value a V2 position against holding its deposit, splitting fees from the principal."""
    p = position
    # What UniswapV2Pair.burn pays: reserve * lp / totalSupply, rounded down.
    out0 = p.reserve0 * p.lp_balance // p.lp_total_supply
    out1 = p.reserve1 * p.lp_balance // p.lp_total_supply
    with localcontext(IL_CONTEXT):
        k = Decimal(p.deposited0) * p.deposited1
        pool_price = Decimal(p.reserve1) / p.reserve0  # raw token1 per raw token0
        fee_free0 = int((k / pool_price).sqrt())
        fee_free1 = int((k * pool_price).sqrt())
    principal0 = TokenAmount(min(out0, fee_free0), p.decimals0)
    principal1 = TokenAmount(min(out1, fee_free1), p.decimals1)
    fees0 = TokenAmount(out0, p.decimals0) - principal0
    fees1 = TokenAmount(out1, p.decimals1) - principal1
    return ILReport(
        principal0=principal0,
        principal1=principal1,
        value_usd=prices.value(principal0, principal1),
        hold_value_usd=prices.value(
            TokenAmount(p.deposited0, p.decimals0), TokenAmount(p.deposited1, p.decimals1)
        ),
        fees_usd=prices.value(fees0, fees1),
        rewards_usd=rewards_usd,
        in_range=True,
    )


@dataclass(frozen=True, slots=True)
class V3Position:
    """A Uniswap V3 position (NonfungiblePositionManager.positions) plus what the keeper knows.

    `deposited0/1`: raw amounts that went in (IncreaseLiquidity events, or `deposit_at_entry`).
    `fees0/1`: raw fees earned: tokensOwed + `uniswap_v3_math.fees_owed(...)` + already collected.
    """

    liquidity: int
    tick_lower: int
    tick_upper: int
    deposited0: int
    deposited1: int
    decimals0: int
    decimals1: int
    fees0: int = 0
    fees1: int = 0

    def __post_init__(self) -> None:
        if not v3.MIN_TICK <= self.tick_lower < self.tick_upper <= v3.MAX_TICK:
            raise ValueError(
                f"ticks [{self.tick_lower}, {self.tick_upper}) are not a range inside"
                f" [{v3.MIN_TICK}, {v3.MAX_TICK}]"
            )
        if self.liquidity < 0 or self.deposited0 < 0 or self.deposited1 < 0:
            raise ValueError("liquidity and deposited amounts must be >= 0")
        if self.deposited0 == 0 and self.deposited1 == 0:
            raise ValueError("deposited0 and deposited1 are both 0: record the deposit amounts")


@dataclass(frozen=True, slots=True)
class V3PoolState:
    """`slot0` of the pool: the current sqrtPriceX96 and tick."""

    sqrt_price_x96: int
    tick: int


def deposit_at_entry(
    sqrt_price_entry_x96: int, tick_lower: int, tick_upper: int, liquidity: int
) -> tuple[int, int]:
    """The raw amounts `liquidity` held when the pool stood at `sqrt_price_entry_x96`.

    For a position whose deposit amounts were not journaled but whose entry price was.
    """
    return v3.get_amounts_for_liquidity(
        sqrt_price_entry_x96,
        v3.get_sqrt_ratio_at_tick(tick_lower),
        v3.get_sqrt_ratio_at_tick(tick_upper),
        liquidity,
    )


def measure_v3(
    position: V3Position, pool: V3PoolState, prices: PairPrices, *, rewards_usd: Decimal = ZERO
) -> ILReport:
    """Value a V3 position (exact integer amounts) against holding its deposit."""
    p = position
    amount0, amount1 = v3.get_amounts_for_liquidity(
        pool.sqrt_price_x96,
        v3.get_sqrt_ratio_at_tick(p.tick_lower),
        v3.get_sqrt_ratio_at_tick(p.tick_upper),
        p.liquidity,
    )
    principal0 = TokenAmount(amount0, p.decimals0)
    principal1 = TokenAmount(amount1, p.decimals1)
    return ILReport(
        principal0=principal0,
        principal1=principal1,
        value_usd=prices.value(principal0, principal1),
        hold_value_usd=prices.value(
            TokenAmount(p.deposited0, p.decimals0), TokenAmount(p.deposited1, p.decimals1)
        ),
        fees_usd=prices.value(TokenAmount(p.fees0, p.decimals0), TokenAmount(p.fees1, p.decimals1)),
        rewards_usd=rewards_usd,
        in_range=v3.in_range(pool.tick, p.tick_lower, p.tick_upper),
    )


def tick_to_price(tick: int, decimals0: int, decimals1: int) -> Decimal:
    """Human price (whole token1 per whole token0) at `tick`, from TickMath's sqrt ratio."""
    return sqrt_price_x96_to_price(v3.get_sqrt_ratio_at_tick(tick), decimals0, decimals1)


def sqrt_price_x96_to_price(sqrt_price_x96: int, decimals0: int, decimals1: int) -> Decimal:
    """Human price (whole token1 per whole token0) of a Q64.96 sqrt price."""
    with localcontext(IL_CONTEXT):
        raw = (Decimal(sqrt_price_x96) / v3.Q96) ** 2
        return raw.scaleb(decimals0 - decimals1)
