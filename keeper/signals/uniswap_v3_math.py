"""Uniswap V3 integer maths, bit-for-bit as the contracts compute it.

This module owns the exact on-chain arithmetic the keeper needs to value a concentrated
liquidity position without asking the chain: TickMath (tick <-> sqrtPriceX96), LiquidityAmounts
(liquidity <-> token amounts, rounding down as the periphery does), and the fee accounting of
`Tick.getFeeGrowthInside` / `Position.update` (uint256 wrap-around included).

Everything is Python `int` in the contracts' own fixed-point formats: sqrt prices are Q64.96
(`sqrtPriceX96`), fee growth is Q128.128 per unit of liquidity, amounts are raw token units.
It must not do I/O, must not use floats, and must not round differently from Solidity: the
tests pin its outputs to values the Uniswap test suites assert.
"""

from __future__ import annotations

MIN_TICK = -887272
MAX_TICK = 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

Q96 = 1 << 96
Q128 = 1 << 128
UINT256_MAX = (1 << 256) - 1
UINT128_MAX = (1 << 128) - 1

# Q128.128 values of 1 / sqrt(1.0001) ** (2 ** i), rounded to nearest: the multipliers of
# TickMath.getSqrtRatioAtTick, one per bit of |tick|. A test re-derives each from its definition.
_TICK_BIT_MULTIPLIERS = (
    0xFFFCB933BD6FAD37AA2D162D1A594001,
    0xFFF97272373D413259A46990580E213A,
    0xFFF2E50F5F656932EF12357CF3C7FDCC,
    0xFFE5CACA7E10E4E61C3624EAA0941CD0,
    0xFFCB9843D60F6159C9DB58835C926644,
    0xFF973B41FA98C081472E6896DFB254C0,
    0xFF2EA16466C96A3843EC78B326B52861,
    0xFE5DEE046A99A2A811C461F1969C3053,
    0xFCBE86C7900A88AEDCFFC83B479AA3A4,
    0xF987A7253AC413176F2B074CF7815E54,
    0xF3392B0822B70005940C7A398E4B70F3,
    0xE7159475A2C29B7443B29C7FA6E889D9,
    0xD097F3BDFD2022B8845AD8F792AA5825,
    0xA9F746462D870FDF8A65DC1F90E061E5,
    0x70D869A156D2A1B890BB3DF62BAF32F7,
    0x31BE135F97D08FD981231505542FCFA6,
    0x9AA508B5B7A84E1C677DE54F3E99BC9,
    0x5D6AF8DEDB81196699C329225EE604,
    0x2216E584F5FA1EA926041BEDFE98,
    0x48A170391F7DC42444E8FA2,
)


def mul_div(a: int, b: int, denominator: int) -> int:
    """FullMath.mulDiv: floor(a * b / denominator), refusing a result that overflows uint256."""
    if denominator <= 0:
        raise ValueError("mul_div: denominator must be positive")
    result = a * b // denominator
    if not 0 <= result <= UINT256_MAX:
        raise ValueError("mul_div: result does not fit in uint256")
    return result


def get_sqrt_ratio_at_tick(tick: int) -> int:
    """TickMath.getSqrtRatioAtTick: sqrt(1.0001 ** tick) as Q64.96, rounded up like Solidity."""
    if not isinstance(tick, int) or isinstance(tick, bool):
        raise TypeError(f"tick must be an int, got {type(tick).__name__}")
    abs_tick = abs(tick)
    if abs_tick > MAX_TICK:
        raise ValueError(f"tick {tick} is outside [{MIN_TICK}, {MAX_TICK}]")
    ratio = Q128
    for bit, multiplier in enumerate(_TICK_BIT_MULTIPLIERS):
        if abs_tick & (1 << bit):
            ratio = (ratio * multiplier) >> 128
    if tick > 0:
        ratio = UINT256_MAX // ratio
    # Q128.128 -> Q128.96, rounding up so that get_tick_at_sqrt_ratio(result) == tick.
    return (ratio >> 32) + (1 if ratio & 0xFFFFFFFF else 0)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """TickMath.getTickAtSqrtRatio: the greatest tick whose sqrt ratio is <= `sqrt_price_x96`.

    Solidity gets there with a log2 approximation; this binary search over
    `get_sqrt_ratio_at_tick` returns the same tick by that very definition (21 steps).
    """
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise ValueError(
            f"sqrt_price_x96 {sqrt_price_x96} is outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)"
        )
    low, high = MIN_TICK, MAX_TICK - 1
    while low < high:
        mid = (low + high + 1) // 2
        if get_sqrt_ratio_at_tick(mid) <= sqrt_price_x96:
            low = mid
        else:
            high = mid - 1
    return low


def _ordered(sqrt_a: int, sqrt_b: int) -> tuple[int, int]:
    return (sqrt_a, sqrt_b) if sqrt_a <= sqrt_b else (sqrt_b, sqrt_a)


def _to_uint128(value: int) -> int:
    if value > UINT128_MAX:
        raise ValueError("liquidity does not fit in uint128")
    return value


def get_amount0_for_liquidity(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    """LiquidityAmounts.getAmount0ForLiquidity: raw token0 units, rounded down."""
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    return mul_div(liquidity << 96, sqrt_b - sqrt_a, sqrt_b) // sqrt_a


def get_amount1_for_liquidity(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    """LiquidityAmounts.getAmount1ForLiquidity: raw token1 units, rounded down."""
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    return mul_div(liquidity, sqrt_b - sqrt_a, Q96)


def get_amounts_for_liquidity(
    sqrt_price_x96: int, sqrt_a: int, sqrt_b: int, liquidity: int
) -> tuple[int, int]:
    """LiquidityAmounts.getAmountsForLiquidity: (raw token0, raw token1) held by `liquidity`.

    Below the range the position is all token0, above it all token1, inside it both.
    """
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    if sqrt_price_x96 <= sqrt_a:
        return get_amount0_for_liquidity(sqrt_a, sqrt_b, liquidity), 0
    if sqrt_price_x96 < sqrt_b:
        return (
            get_amount0_for_liquidity(sqrt_price_x96, sqrt_b, liquidity),
            get_amount1_for_liquidity(sqrt_a, sqrt_price_x96, liquidity),
        )
    return 0, get_amount1_for_liquidity(sqrt_a, sqrt_b, liquidity)


def get_liquidity_for_amount0(sqrt_a: int, sqrt_b: int, amount0: int) -> int:
    """LiquidityAmounts.getLiquidityForAmount0 (rounded down)."""
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    intermediate = mul_div(sqrt_a, sqrt_b, Q96)
    return _to_uint128(mul_div(amount0, intermediate, sqrt_b - sqrt_a))


def get_liquidity_for_amount1(sqrt_a: int, sqrt_b: int, amount1: int) -> int:
    """LiquidityAmounts.getLiquidityForAmount1 (rounded down)."""
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    return _to_uint128(mul_div(amount1, Q96, sqrt_b - sqrt_a))


def get_liquidity_for_amounts(
    sqrt_price_x96: int, sqrt_a: int, sqrt_b: int, amount0: int, amount1: int
) -> int:
    """LiquidityAmounts.getLiquidityForAmounts: the most liquidity these raw amounts can mint."""
    sqrt_a, sqrt_b = _ordered(sqrt_a, sqrt_b)
    if sqrt_price_x96 <= sqrt_a:
        return get_liquidity_for_amount0(sqrt_a, sqrt_b, amount0)
    if sqrt_price_x96 < sqrt_b:
        return min(
            get_liquidity_for_amount0(sqrt_price_x96, sqrt_b, amount0),
            get_liquidity_for_amount1(sqrt_a, sqrt_price_x96, amount1),
        )
    return get_liquidity_for_amount1(sqrt_a, sqrt_b, amount1)


def in_range(tick_current: int, tick_lower: int, tick_upper: int) -> bool:
    """The pool's own test (UniswapV3Pool._modifyPosition): tick_lower <= tick < tick_upper."""
    if tick_lower >= tick_upper:
        raise ValueError(f"tick_lower {tick_lower} must be below tick_upper {tick_upper}")
    return tick_lower <= tick_current < tick_upper


def fee_growth_inside(
    tick_current: int,
    tick_lower: int,
    tick_upper: int,
    fee_growth_global_x128: int,
    lower_fee_growth_outside_x128: int,
    upper_fee_growth_outside_x128: int,
) -> int:
    """Tick.getFeeGrowthInside for one token: Q128.128 fees per unit of liquidity, mod 2**256.

    Inputs are the pool's `feeGrowthGlobal{0,1}X128` and the two ticks' `feeGrowthOutside`.
    The subtractions wrap exactly as Solidity's unchecked uint256 arithmetic does.
    """
    if tick_current >= tick_lower:
        below = lower_fee_growth_outside_x128
    else:
        below = (fee_growth_global_x128 - lower_fee_growth_outside_x128) & UINT256_MAX
    if tick_current < tick_upper:
        above = upper_fee_growth_outside_x128
    else:
        above = (fee_growth_global_x128 - upper_fee_growth_outside_x128) & UINT256_MAX
    return (fee_growth_global_x128 - below - above) & UINT256_MAX


def fees_owed(liquidity: int, fee_growth_inside_x128: int, fee_growth_inside_last_x128: int) -> int:
    """Position.update: raw token units earned since the position's last checkpoint.

    Add the position's stored `tokensOwed` to get everything collectable. Like the contract,
    the growth difference wraps mod 2**256 and the result is truncated to uint128.
    """
    growth = (fee_growth_inside_x128 - fee_growth_inside_last_x128) & UINT256_MAX
    return mul_div(growth, liquidity, Q128) & UINT128_MAX
