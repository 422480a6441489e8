"""Properties of the impermanent-loss formulas (closed forms and the exact integer positions).

Each invariant is a small `check_*` function run under hypothesis against the real code, and
once against a deliberately broken formula to show that it bites.
"""

from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.signals import uniswap_v3_math as v3
from keeper.signals.il import (
    PairPrices,
    V3PoolState,
    V3Position,
    deposit_at_entry,
    measure_v3,
    tick_to_price,
    v2_value_vs_hold,
    v3_value_vs_hold,
)

EPS = Decimal("1e-40")
ratios = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=6).filter(
    lambda r: r > 0
)


def check_symmetric(formula, ratio: Decimal) -> None:
    with localcontext() as ctx:
        ctx.prec = 60
        inverse = 1 / ratio
    assert abs(formula(ratio) - formula(inverse)) < Decimal("1e-30")


def check_never_beats_holding(formula, ratio: Decimal) -> None:
    assert formula(ratio) <= EPS


@given(ratios)
def test_v2_value_vs_hold__ratio_and_inverse__same_loss(ratio):
    check_symmetric(v2_value_vs_hold, ratio)


@given(ratios)
def test_v2_value_vs_hold__any_move__never_beats_holding(ratio):
    check_never_beats_holding(v2_value_vs_hold, ratio)


def broken_il(ratio: Decimal) -> Decimal:
    """A plausible slip: r instead of sqrt(r)."""
    return 2 * ratio / (1 + ratio) - 1


def test_check_symmetric__broken_formula__fails():
    with pytest.raises(AssertionError):
        check_symmetric(broken_il, Decimal(2))


def test_check_never_beats_holding__broken_formula__fails():
    with pytest.raises(AssertionError):
        check_never_beats_holding(broken_il, Decimal(2))


def test_v2_value_vs_hold__entry_price__zero():
    assert v2_value_vs_hold(Decimal(1)) == 0


def test_v2_value_vs_hold__known_2x__5_72_percent():
    assert (-v2_value_vs_hold(Decimal(2))).quantize(Decimal("0.0001")) == Decimal("0.0572")


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=4),
    st.decimals(min_value=Decimal("0.05"), max_value=Decimal("0.95"), places=3),
    st.decimals(min_value=Decimal("1.05"), max_value=Decimal(20), places=3),
)
def test_v3_value_vs_hold__at_entry_price__zero_for_any_range(entry, low, high):
    assert abs(v3_value_vs_hold(entry, entry, entry * low, entry * high)) < EPS


@given(ratios, st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=4))
def test_v3_value_vs_hold__full_range__equals_v2(ratio, entry):
    full = v3_value_vs_hold(entry, entry * ratio, Decimal(0), None)
    assert abs(full - v2_value_vs_hold(ratio)) < Decimal("1e-35")


@given(
    st.decimals(min_value=Decimal("0.05"), max_value=Decimal("0.99"), places=3),
    st.decimals(min_value=Decimal("1.01"), max_value=Decimal(20), places=3),
    st.decimals(min_value=0, max_value=1, places=4),
)
def test_v3_value_vs_hold__move_inside_the_range__at_least_v2_loss(low, high, where):
    # Position in [low, high] around entry 1; the price moves to a point inside that range.
    price = low + (high - low) * where
    concentrated = v3_value_vs_hold(Decimal(1), price, low, high)
    assert concentrated <= v2_value_vs_hold(price) + EPS


@given(
    ratios,
    st.decimals(min_value=Decimal("0.05"), max_value=Decimal("0.99"), places=3),
    st.decimals(min_value=Decimal("1.01"), max_value=Decimal(20), places=3),
)
def test_v3_value_vs_hold__any_move__never_beats_holding(ratio, low, high):
    assert v3_value_vs_hold(Decimal(1), ratio, low, high) <= EPS


@settings(deadline=None, max_examples=150)
@given(
    st.integers(min_value=-20_000, max_value=20_000),
    st.integers(min_value=1, max_value=200).map(lambda n: n * 60),
    st.integers(min_value=1, max_value=200).map(lambda n: n * 60),
    st.integers(min_value=-40_000, max_value=40_000),
    st.integers(min_value=10**15, max_value=10**24),
)
def test_measure_v3__exact_integer_position__matches_closed_form(
    entry_tick, below, above, move, liquidity
):
    """The integer valuation of a real position agrees with the real-valued formula."""
    lower, upper = entry_tick - below, entry_tick + above
    d0, d1 = deposit_at_entry(v3.get_sqrt_ratio_at_tick(entry_tick), lower, upper, liquidity)
    now = max(v3.MIN_TICK, min(v3.MAX_TICK - 1, entry_tick + move))
    report = measure_v3(
        V3Position(liquidity, lower, upper, d0, d1, 18, 18),
        V3PoolState(v3.get_sqrt_ratio_at_tick(now), now),
        PairPrices(tick_to_price(now, 18, 18), Decimal(1)),
    )
    closed = -v3_value_vs_hold(
        tick_to_price(entry_tick, 18, 18),
        tick_to_price(now, 18, 18),
        tick_to_price(lower, 18, 18),
        tick_to_price(upper, 18, 18),
    )
    # Integer rounding costs at most a few raw units on each side of a >= 1e15 position.
    assert abs(report.il - closed) < Decimal("1e-9")
    assert report.in_range == (lower <= now < upper)


def test_measure_v3__full_range_position__reduces_to_v2():
    liquidity = 10**22
    lower, upper = -887220, 887220
    d0, d1 = deposit_at_entry(v3.get_sqrt_ratio_at_tick(0), lower, upper, liquidity)
    for tick in (-13_864, -6_932, -1_000, 0, 1_000, 6_932, 13_864, 46_054):
        report = measure_v3(
            V3Position(liquidity, lower, upper, d0, d1, 18, 18),
            V3PoolState(v3.get_sqrt_ratio_at_tick(tick), tick),
            PairPrices(tick_to_price(tick, 18, 18), Decimal(1)),
        )
        assert abs(report.il + v2_value_vs_hold(tick_to_price(tick, 18, 18))) < Decimal("1e-9"), (
            tick
        )
