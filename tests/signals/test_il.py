"""Impermanent-loss measurement of V2 and V3 positions the treasury holds."""

from decimal import Decimal
from pathlib import Path

import pytest

from keeper.signals import uniswap_v3_math as v3
from keeper.signals.il import (
    PairPrices,
    V2Position,
    V3PoolState,
    V3Position,
    deposit_at_entry,
    measure_v2,
    measure_v3,
    sqrt_price_x96_to_price,
    tick_to_price,
    v2_value_vs_hold,
    v3_value_vs_hold,
)

PRICES_CSV = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "prices"
    / "crypto_daily_close_usd.csv"
)


def sqrt_x96(price_raw: Decimal) -> int:
    """Q64.96 sqrt of a raw price (raw token1 per raw token0), floored."""
    from decimal import localcontext

    with localcontext() as ctx:
        ctx.prec = 80
        return int(price_raw.sqrt() * 2**96)


def test_v2_value_vs_hold__price_doubles__minus_5_72_percent():
    assert v2_value_vs_hold(Decimal(2)).quantize(Decimal("0.0001")) == Decimal("-0.0572")


def test_v2_value_vs_hold__price_halves__same_as_doubling():
    assert v2_value_vs_hold(Decimal("0.5")) == v2_value_vs_hold(Decimal(2))


def test_v2_value_vs_hold__float__refused():
    with pytest.raises(TypeError, match="Decimal"):
        v2_value_vs_hold(2.0)


def test_v3_value_vs_hold__narrow_range__deeper_than_v2():
    v3_loss = v3_value_vs_hold(Decimal(1), Decimal("1.5"), Decimal("0.5"), Decimal(2))
    assert v3_loss.quantize(Decimal("0.0001")) == Decimal("-0.0690")
    assert v3_loss < v2_value_vs_hold(Decimal("1.5"))


def test_v3_value_vs_hold__inverted_range__refused():
    with pytest.raises(ValueError, match="not a valid price range"):
        v3_value_vs_hold(Decimal(1), Decimal(2), Decimal(3), Decimal(2))


def _v2_after_move(ratio: Decimal, fee_growth: Decimal = Decimal(1)) -> V2Position:
    """A pair that held 1 WETH + 2,000 USDC, after the price moved by `ratio` along x*y=k."""
    deposited0, deposited1 = 10**18, 2_000 * 10**6
    k = Decimal(deposited0) * deposited1 * fee_growth**2
    price = Decimal(deposited1) / deposited0 * ratio
    return V2Position(
        lp_balance=10**18,
        lp_total_supply=10**18,
        reserve0=int((k / price).sqrt()),
        reserve1=int((k * price).sqrt()),
        deposited0=deposited0,
        deposited1=deposited1,
        decimals0=18,
        decimals1=6,
    )


def test_measure_v2__price_doubles_no_fees__il_5_72_percent_and_no_fees():
    report = measure_v2(_v2_after_move(Decimal(2)), PairPrices(Decimal(4_000), Decimal(1)))
    assert report.il.quantize(Decimal("0.0001")) == Decimal("0.0572")
    assert report.fees_usd < Decimal("0.01")
    assert report.hold_value_usd == Decimal(6_000)
    assert report.in_range


def test_measure_v2__reserves_grew_1_percent_from_fees__fees_split_out():
    report = measure_v2(
        _v2_after_move(Decimal(2), fee_growth=Decimal("1.01")),
        PairPrices(Decimal(4_000), Decimal(1)),
    )
    assert report.il.quantize(Decimal("0.0001")) == Decimal("0.0572")
    assert abs(report.fees_usd - report.value_usd / 100) < Decimal("0.01")
    assert report.net_il < report.il


def test_measure_v2__a_third_of_the_pair__burn_amounts_rounded_down():
    position = V2Position(
        lp_balance=1,
        lp_total_supply=3,
        reserve0=10,
        reserve1=11,
        deposited0=3,
        deposited1=3,
        decimals0=0,
        decimals1=0,
    )
    report = measure_v2(position, PairPrices(Decimal(1), Decimal(1)))
    # burn pays floor(10 / 3) = 3 and floor(11 / 3) = 3: no unit appears from rounding.
    assert report.value_usd + report.fees_usd == 6
    # the deposit's liquidity sqrt(3 * 3) holds (2.86, 3.15) at price 1.1: principal rounds down.
    assert (report.principal0.raw, report.principal1.raw) == (2, 3)


def test_v2_position__no_deposit_recorded__refused_with_fix():
    with pytest.raises(ValueError, match="record the deposit"):
        V2Position(1, 1, 1, 1, 0, 1, 18, 6)


def test_measure_v3__full_range_minted_at_entry__matches_v2_formula():
    spacing_min, spacing_max = -887220, 887220  # full range for tick spacing 60
    entry = v3.get_sqrt_ratio_at_tick(0)
    liquidity = 10**21
    deposited0, deposited1 = deposit_at_entry(entry, spacing_min, spacing_max, liquidity)
    moved_tick = 6_932  # 1.0001 ** 6932 ~ 2.0
    position = V3Position(liquidity, spacing_min, spacing_max, deposited0, deposited1, 18, 18)
    pool = V3PoolState(v3.get_sqrt_ratio_at_tick(moved_tick), moved_tick)
    ratio = tick_to_price(moved_tick, 18, 18)
    report = measure_v3(position, pool, PairPrices(ratio, Decimal(1)))
    assert abs(report.il + v2_value_vs_hold(ratio)) < Decimal("1e-9")


def test_measure_v3__price_below_range__out_of_range_all_token0():
    d0, d1 = deposit_at_entry(v3.get_sqrt_ratio_at_tick(0), -600, 600, 10**18)
    position = V3Position(10**18, -600, 600, d0, d1, 18, 18)
    pool = V3PoolState(v3.get_sqrt_ratio_at_tick(-1_200), -1_200)
    report = measure_v3(position, pool, PairPrices(tick_to_price(-1_200, 18, 18), Decimal(1)))
    assert not report.in_range
    assert report.principal1.raw == 0 and report.principal0.raw > 0
    assert report.il > 0


def test_measure_v3__fees_and_rewards__reduce_the_net_loss():
    entry = v3.get_sqrt_ratio_at_tick(0)
    d0, d1 = deposit_at_entry(entry, -600, 600, 10**20)
    fees0 = v3.fees_owed(10**20, 3 * 2**128 // 10**4, 0)  # 0.03 % of a unit of L per unit
    position = V3Position(10**20, -600, 600, d0, d1, 18, 18, fees0=fees0, fees1=fees0)
    pool = V3PoolState(v3.get_sqrt_ratio_at_tick(300), 300)
    prices = PairPrices(tick_to_price(300, 18, 18), Decimal(1))
    report = measure_v3(position, pool, prices, rewards_usd=Decimal("0.5"))
    assert report.fees_usd > 0
    by_hand = report.value_usd + report.fees_usd + Decimal("0.5") - report.hold_value_usd
    assert abs(report.net_usd - by_hand) < Decimal("1e-20")
    assert report.net_il < report.il


def test_v3_position__inverted_ticks__refused():
    with pytest.raises(ValueError, match="not a range"):
        V3Position(1, 60, -60, 1, 1, 18, 18)


def test_sqrt_price_x96_to_price__usdc_weth_pool__usd_per_eth_inverse():
    # token0 USDC (6), token1 WETH (18): the pool price is WETH per USDC.
    raw = Decimal(1) / 2_000 * Decimal(10) ** 12
    price = sqrt_price_x96_to_price(sqrt_x96(raw), 6, 18)
    assert abs(1 / price - 2_000) < Decimal("1e-6")


def _eth_closes() -> dict[str, Decimal]:
    if not PRICES_CSV.exists():
        pytest.skip(f"reference prices not found at {PRICES_CSV} (shared data is outside the repo)")
    closes = {}
    for line in PRICES_CSV.read_text().splitlines()[1:]:
        cells = line.split(",")
        if cells[3]:
            closes[cells[0]] = Decimal(cells[3])
    return closes


def test_measure_v3__real_eth_2020_to_2021__full_range_tracks_v2_and_passes_10_percent():
    """USDC/WETH full range opened 2020-01-01 on real ETH closes: exact maths = closed form."""
    closes = _eth_closes()
    entry_usd = closes["2020-01-01"]
    entry = sqrt_x96(Decimal(10) ** 12 / entry_usd)  # raw WETH per raw USDC
    lower, upper = -887220, 887220
    liquidity = 10**18
    d0, d1 = deposit_at_entry(entry, lower, upper, liquidity)
    position = V3Position(liquidity, lower, upper, d0, d1, 6, 18)
    first_breach = None
    for day in sorted(d for d in closes if "2020-01-01" <= d <= "2021-12-31"):
        eth = closes[day]
        sqrt_now = sqrt_x96(Decimal(10) ** 12 / eth)
        pool = V3PoolState(sqrt_now, v3.get_tick_at_sqrt_ratio(sqrt_now))
        report = measure_v3(position, pool, PairPrices(Decimal(1), eth))
        expected = -v2_value_vs_hold(eth / entry_usd)
        assert abs(report.il - expected) < Decimal("1e-6"), day
        if first_breach is None and report.il >= Decimal("0.10"):
            first_breach = day
    # A 10 % loss needs ratio r with 2 sqrt(r) / (1 + r) = 0.9, i.e. r = ((1 + sqrt(0.19)) / 0.9)^2
    # ~ 2.545: ETH first closed above 2.545 x $130.80 ~ $333 on 2020-07-30.
    threshold = ((1 + Decimal("0.19").sqrt()) / Decimal("0.9")) ** 2
    expected_day = min(
        d for d in closes if d >= "2020-01-01" and closes[d] / entry_usd >= threshold
    )
    assert first_breach == expected_day == "2020-07-30"
