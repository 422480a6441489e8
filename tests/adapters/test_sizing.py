"""Order sizing and pricing: properties that keep orders inside what was asked and allowed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.venues import sizing
from keeper.venues.types import Book, MarketRules

RULES = MarketRules(
    "BTC/USDT",
    "BTC",
    "USDT",
    tick=Decimal("0.01"),
    step=Decimal("0.00001"),
    min_amount=Decimal("0.00001"),
    max_amount=Decimal("9000"),
    min_notional=Decimal("5"),
)

amounts = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("50"), places=8)
prices = st.decimals(min_value=Decimal("100"), max_value=Decimal("100000"), places=2)
caps = st.decimals(min_value=Decimal("50"), max_value=Decimal("50000"), places=2)


@given(amounts, prices, caps)
def test_slice_amounts__any_leg__sum_is_amount_rounded_down_to_step(amount, price, cap):
    slices = sizing.slice_amounts(amount, price, cap, RULES)
    if slices:
        assert sum(slices) == sizing.round_down(amount, RULES.step)
        assert all(s % RULES.step == 0 and s > 0 for s in slices)


@given(amounts, prices, caps)
def test_slice_amounts__any_leg__every_slice_tradable_and_near_the_cap(amount, price, cap):
    slices = sizing.slice_amounts(amount, price, cap, RULES)
    for s in slices:
        assert sizing.tradable(s, price, RULES) is None
    if len(slices) > 1:
        assert all(s * price <= cap + RULES.step * price for s in slices)
        assert max(slices) - min(slices) <= RULES.step


def test_slice_amounts__seed_001_split_above_10k__three_slices():
    slices = sizing.slice_amounts(Decimal("0.5"), Decimal("60000"), Decimal("10000"), RULES)
    assert len(slices) == 3 and sum(slices) == Decimal("0.5")


def test_slice_amounts__below_min_notional__empty():
    assert sizing.slice_amounts(Decimal("0.00005"), Decimal("60000"), Decimal("10000"), RULES) == ()


@given(prices, st.integers(min_value=0, max_value=500), st.sampled_from(["buy", "sell"]))
def test_limit_price__any_book__on_tick_within_slippage_and_marketable(touch, bps, side):
    book = Book("v", "BTC/USDT", bids=((touch, Decimal(1)),), asks=((touch, Decimal(1)),))
    price = sizing.limit_price(book, side, bps, RULES.tick)
    assert price % RULES.tick == 0
    limit = (
        touch * (1 + Decimal(bps) / 10_000)
        if side == "buy"
        else touch * (1 - Decimal(bps) / 10_000)
    )
    if side == "buy":
        assert price >= touch and (price <= limit or price == sizing.round_up(touch, RULES.tick))
    else:
        assert price <= touch and (price >= limit or price == sizing.round_down(touch, RULES.tick))


def test_limit_price__empty_side__none():
    assert sizing.limit_price(Book("v", "X/Y", (), ()), "buy", 50, Decimal("0.01")) is None


@given(
    st.decimals(min_value=0, max_value=10**9, places=2),
    st.decimals(min_value=0, max_value=10**9, places=2),
)
def test_scale_to_cash__any__never_above_one_and_fits_cash(needed, cash):
    factor = sizing.scale_to_cash(needed, cash)
    assert 0 <= factor <= 1
    assert needed * factor <= max(cash, needed * 0) or factor == 1


def test_round_down__zero_step__refused():
    with pytest.raises(ValueError):
        sizing.round_down(Decimal(1), Decimal(0))
