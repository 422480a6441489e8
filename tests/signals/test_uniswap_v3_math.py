"""Uniswap V3 integer maths against the values Uniswap's own test suites assert.

Sources of the expected values (read with the search tool, not derived from our code):
- v3-core test/TickMath.spec.ts: MIN_TICK, MIN_TICK + 1, MAX_TICK - 1, MAX_TICK, and the
  getTickAtSqrtRatio bounds; ticks 0, +/-1 and +/-60 are the widely pinned golden values.
- v3-periphery test/LiquidityAmounts.spec.ts: 2148 / 1048 / 2097 liquidity and (99, 99),
  (99, 0), (0, 199) amounts, with its `encodePriceSqrt` (bignumber.js, 40 decimal places,
  half-up, floored after scaling by 2**96), reproduced below.
"""

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.signals import uniswap_v3_math as v3


def encode_price_sqrt(reserve1: int, reserve0: int) -> int:
    """Uniswap's test helper: sqrt(reserve1 / reserve0) * 2**96 as bignumber.js computes it."""
    places = Decimal(1).scaleb(-40)
    with localcontext() as ctx:
        ctx.prec = 200
        ctx.rounding = ROUND_HALF_UP
        ratio = (Decimal(reserve1) / Decimal(reserve0)).quantize(places)
        root = ratio.sqrt().quantize(places)
        return int((root * 2**96).to_integral_value(rounding=ROUND_FLOOR))


@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        (v3.MIN_TICK, 4295128739),
        (v3.MIN_TICK + 1, 4295343490),
        (-60, 78990846045029531151608375686),
        (-1, 79224201403219477170569942574),
        (0, 79228162514264337593543950336),
        (1, 79232123823359799118286999568),
        (60, 79466191966197645195421774833),
        (v3.MAX_TICK - 1, 1461373636630004318706518188784493106690254656249),
        (v3.MAX_TICK, 1461446703485210103287273052203988822378723970342),
    ],
)
def test_get_sqrt_ratio_at_tick__uniswap_test_vectors__exact(tick, expected):
    assert v3.get_sqrt_ratio_at_tick(tick) == expected


@pytest.mark.parametrize("tick", [v3.MIN_TICK - 1, v3.MAX_TICK + 1])
def test_get_sqrt_ratio_at_tick__outside_bounds__refused(tick):
    with pytest.raises(ValueError, match="outside"):
        v3.get_sqrt_ratio_at_tick(tick)


def test_tick_multipliers__rederived_from_definition__match_constants():
    # Each constant is 2**128 / sqrt(1.0001) ** (2 ** bit), rounded to nearest.
    with localcontext() as ctx:
        ctx.prec = 100
        root = Decimal("1.0001").sqrt()
        derived = [
            int((Decimal(2**128) / root ** (2**bit)).to_integral_value(rounding=ROUND_HALF_UP))
            for bit in range(20)
        ]
    assert list(v3._TICK_BIT_MULTIPLIERS) == derived


@pytest.mark.parametrize(
    ("sqrt_price", "expected"),
    [
        (v3.MIN_SQRT_RATIO, v3.MIN_TICK),
        (4295343490, v3.MIN_TICK + 1),
        (1461373636630004318706518188784493106690254656248, v3.MAX_TICK - 2),
        (v3.MAX_SQRT_RATIO - 1, v3.MAX_TICK - 1),
        (2**96, 0),
    ],
)
def test_get_tick_at_sqrt_ratio__bounds__uniswap_ticks(sqrt_price, expected):
    assert v3.get_tick_at_sqrt_ratio(sqrt_price) == expected


@pytest.mark.parametrize("sqrt_price", [v3.MIN_SQRT_RATIO - 1, v3.MAX_SQRT_RATIO])
def test_get_tick_at_sqrt_ratio__outside_bounds__refused(sqrt_price):
    with pytest.raises(ValueError, match="outside"):
        v3.get_tick_at_sqrt_ratio(sqrt_price)


@given(st.integers(min_value=v3.MIN_TICK, max_value=v3.MAX_TICK - 1))
def test_ticks__round_trip_and_monotonic__exact(tick):
    ratio = v3.get_sqrt_ratio_at_tick(tick)
    assert v3.get_tick_at_sqrt_ratio(ratio) == tick
    assert v3.get_tick_at_sqrt_ratio(v3.get_sqrt_ratio_at_tick(tick + 1) - 1) == tick
    assert ratio < v3.get_sqrt_ratio_at_tick(tick + 1)


@given(st.integers(min_value=-200_000, max_value=200_000))
def test_get_sqrt_ratio_at_tick__any_tick__within_a_hundredth_of_a_bip_of_real(tick):
    with localcontext() as ctx:
        ctx.prec = 60
        real = Decimal("1.0001") ** tick
        real_sqrt = real.sqrt() * 2**96
        assert abs(Decimal(v3.get_sqrt_ratio_at_tick(tick)) / real_sqrt - 1) < Decimal("1e-6")


LOWER = encode_price_sqrt(100, 110)
UPPER = encode_price_sqrt(110, 100)


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (encode_price_sqrt(1, 1), 2148),
        (encode_price_sqrt(99, 110), 1048),
        (encode_price_sqrt(111, 100), 2097),
        (LOWER, 1048),
        (UPPER, 2097),
    ],
)
def test_get_liquidity_for_amounts__periphery_vectors__exact(price, expected):
    assert v3.get_liquidity_for_amounts(price, LOWER, UPPER, 100, 200) == expected
    assert v3.get_liquidity_for_amounts(price, UPPER, LOWER, 100, 200) == expected


@pytest.mark.parametrize(
    ("price", "liquidity", "expected"),
    [
        (encode_price_sqrt(1, 1), 2148, (99, 99)),
        (encode_price_sqrt(99, 110), 1048, (99, 0)),
        (encode_price_sqrt(111, 100), 2097, (0, 199)),
        (LOWER, 1048, (99, 0)),
        (UPPER, 2097, (0, 199)),
    ],
)
def test_get_amounts_for_liquidity__periphery_vectors__exact(price, liquidity, expected):
    assert v3.get_amounts_for_liquidity(price, LOWER, UPPER, liquidity) == expected


def test_get_liquidity_for_amount0__overflows_uint128__refused():
    with pytest.raises(ValueError, match="uint128"):
        v3.get_liquidity_for_amount0(
            encode_price_sqrt(1, 1), encode_price_sqrt(10001, 10000), 2**200
        )


@given(
    st.integers(min_value=-50_000, max_value=50_000),
    st.integers(min_value=1, max_value=20_000),
    st.integers(min_value=1, max_value=20_000),
    st.integers(min_value=10**6, max_value=10**30),
)
def test_amounts_for_liquidity__mint_then_value__never_more_than_paid(tick, below, above, amount):
    """What a position is worth never exceeds what minting it cost (rounding is down)."""
    sqrt_p = v3.get_sqrt_ratio_at_tick(tick)
    sqrt_a = v3.get_sqrt_ratio_at_tick(tick - below)
    sqrt_b = v3.get_sqrt_ratio_at_tick(tick + above)
    liquidity = v3.get_liquidity_for_amounts(sqrt_p, sqrt_a, sqrt_b, amount, amount)
    amount0, amount1 = v3.get_amounts_for_liquidity(sqrt_p, sqrt_a, sqrt_b, liquidity)
    assert amount0 <= amount and amount1 <= amount


def test_in_range__pool_semantics__lower_inclusive_upper_exclusive():
    assert v3.in_range(-60, -60, 60)
    assert v3.in_range(59, -60, 60)
    assert not v3.in_range(60, -60, 60)
    assert not v3.in_range(-61, -60, 60)


def test_fee_growth_inside__price_inside__global_minus_both_outsides():
    assert v3.fee_growth_inside(0, -60, 60, 1_000, 100, 200) == 700


def test_fee_growth_inside__price_below__lower_outside_minus_upper_outside():
    # tick < lower: below = global - lower.outside, above = upper.outside
    assert v3.fee_growth_inside(-120, -60, 60, 1_000, 300, 100) == 200


def test_fee_growth_inside__outside_larger_than_global__wraps_like_uint256():
    inside = v3.fee_growth_inside(0, -60, 60, 10, 20, 0)
    assert inside == (10 - 20) % 2**256
    # The wrapped value still yields the right fees once differenced against the checkpoint.
    later = v3.fee_growth_inside(0, -60, 60, 10 + 5 * 2**128, 20, 0)
    assert v3.fees_owed(7, later, inside) == 35


def test_fees_owed__growth_since_checkpoint__liquidity_times_growth_over_q128():
    liquidity = 10**18
    assert v3.fees_owed(liquidity, 3 * 2**128 + 2**127, 2**128) == 25 * 10**17
