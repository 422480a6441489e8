"""Supply-rate conversions against the worked examples of CHAIN_FACTS.md and Comet's own maths."""

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.signals import yields as y

Q = Decimal("0.000001")  # 4 decimals of a percentage


def test_aave_supply_apy__rate_3_5e25__3_5620_percent():
    # CHAIN_FACTS.md section 5: liquidityRate = 3.5e25 -> APR 3.5 % -> APY 3.5620 %.
    assert y.aave_supply_apr(35 * 10**24) == Decimal("0.035")
    assert y.aave_supply_apy(35 * 10**24).quantize(Q) == Decimal("0.035620")


def test_aave_supply_apy__per_second_compounding__close_to_continuous():
    apy = y.aave_supply_apy(35 * 10**24)
    continuous = Decimal("0.035").exp() - 1
    assert abs(apy - continuous) < Decimal("1e-10")
    assert apy < continuous  # discrete compounding is always a little below e^r - 1


def test_aave_supply_apy__zero_rate__zero():
    assert y.aave_supply_apy(0) == 0


def test_aave_supply_apy__negative_or_float__refused():
    with pytest.raises(ValueError, match="liquidity_rate_ray"):
        y.aave_supply_apy(-1)
    with pytest.raises(TypeError, match="liquidity_rate_ray"):
        y.aave_supply_apy(3.5e25)


def test_aave_apy_from_index__one_year_of_3_5_percent_growth__3_5_percent():
    start = 10**27
    end = start * 1035 // 1000
    assert y.aave_apy_from_index(start, end, y.SECONDS_PER_YEAR) == Decimal("0.035")
    assert y.aave_apr_from_index(start, end, y.SECONDS_PER_YEAR) == Decimal("0.035")


def test_aave_apy_from_index__one_day__compounds_above_simple_apr():
    start = 1_050_000_000_000_000_000_000_000_000
    end = start + start // 10_000  # +1 bp in a day
    apr = y.aave_apr_from_index(start, end, 86_400)
    apy = y.aave_apy_from_index(start, end, 86_400)
    assert apr == Decimal("0.0365")
    assert apy.quantize(Q) == Decimal("0.037172")  # 1.0001 ** 365 - 1


def test_aave_apy_from_index__zero_window__refused():
    with pytest.raises(ValueError, match="positive"):
        y.aave_apy_from_index(10**27, 10**27, 0)


def test_comet_supply_rate_1e9__apr_3_1536_apy_3_204():
    # CHAIN_FACTS.md section 6: rate = 1e9 -> APR 3.1536 %, APY 3.204 %.
    assert y.comet_supply_apr(10**9) == Decimal("0.031536")
    assert y.comet_supply_apy(10**9).quantize(Decimal("0.00001")) == Decimal("0.03204")


# A Comet-like USDC curve: kink 90 %, 4 %/yr below, 300 %/yr above, no base (per-year 1e18).
CURVE = y.CometSupplyCurve.from_per_year(
    kink=9 * 10**17,
    slope_low_per_year=4 * 10**16,
    slope_high_per_year=3 * 10**18,
    base_per_year=0,
)


def test_comet_curve__from_per_year__truncates_like_the_constructor():
    assert CURVE.slope_low == 4 * 10**16 // 31_536_000 == 1_268_391_679
    assert CURVE.slope_high == 3 * 10**18 // 31_536_000


def test_comet_curve__below_kink__base_plus_slope_low_times_utilization():
    u = 5 * 10**17
    assert CURVE.supply_rate(u) == CURVE.slope_low * u // 10**18


def test_comet_curve__above_kink__adds_slope_high_past_the_kink():
    u = 95 * 10**16
    expected = (
        CURVE.slope_low * CURVE.kink // 10**18 + CURVE.slope_high * (u - CURVE.kink) // 10**18
    )
    assert CURVE.supply_rate(u) == expected
    assert y.comet_supply_apr(CURVE.supply_rate(u)).quantize(Decimal("0.0001")) == Decimal("0.186")


@given(st.integers(min_value=0, max_value=10**18), st.integers(min_value=0, max_value=10**18))
def test_comet_curve__utilization_rises__rate_never_falls(u1, u2):
    low, high = sorted((u1, u2))
    assert CURVE.supply_rate(low) <= CURVE.supply_rate(high)


def test_comet_utilization__present_values__borrow_over_supply_scaled_1e18():
    assert y.comet_utilization(total_supply=1_000 * 10**6, total_borrow=873 * 10**6) == 873 * 10**15
    assert y.comet_utilization(total_supply=0, total_borrow=0) == 0


def test_erc4626_realised_apy__share_price_up_1_percent_over_30_days__compounded():
    first = y.SharePriceObservation(timestamp=1_700_000_000, assets_per_share=1_000_000)
    last = y.SharePriceObservation(
        timestamp=1_700_000_000 + 30 * 86_400, assets_per_share=1_010_000
    )
    apy = y.erc4626_realised_apy(first, last)
    with localcontext() as ctx:
        ctx.prec = 60
        expected = Decimal("1.01") ** (Decimal(365) / 30) - 1
    assert abs(apy - expected) < Decimal("1e-30")
    assert apy.quantize(Decimal("0.0001")) == Decimal("0.1287")


def test_erc4626_realised_apy__share_price_down__negative():
    first = y.SharePriceObservation(timestamp=0, assets_per_share=10**18)
    last = y.SharePriceObservation(timestamp=86_400 * 7, assets_per_share=10**18 - 10**15)
    assert y.erc4626_realised_apy(first, last) < 0


def test_erc4626_realised_apy__window_too_short__refused_with_fix():
    first = y.SharePriceObservation(timestamp=100, assets_per_share=10**6)
    last = y.SharePriceObservation(timestamp=160, assets_per_share=10**6 + 1)
    with pytest.raises(ValueError, match="keep an older observation"):
        y.erc4626_realised_apy(first, last)


def test_share_price_observation__zero_price__refused():
    with pytest.raises(ValueError, match="zero share price"):
        y.SharePriceObservation(timestamp=1, assets_per_share=0)


@given(st.integers(min_value=0, max_value=2 * 10**26))
def test_aave_supply_apy__any_rate__between_apr_and_continuous(rate):
    # Absolute precision of the 50-digit context is far below 1e-40 of a rate.
    apr = y.aave_supply_apr(rate)
    apy = y.aave_supply_apy(rate)
    with localcontext() as ctx:
        ctx.prec = 60
        continuous = apr.exp() - 1
    assert apr - Decimal("1e-40") <= apy <= continuous + Decimal("1e-40")
