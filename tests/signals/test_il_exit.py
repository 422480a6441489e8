"""Seed 000's IL management rule: min 5 % / max 10 %, IL against gas, rewards counted."""

from decimal import Decimal

import pytest

from keeper.errors import ConfigError
from keeper.money import TokenAmount
from keeper.signals import uniswap_v3_math as v3
from keeper.signals.il import (
    ILReport,
    PairPrices,
    V3PoolState,
    V3Position,
    deposit_at_entry,
    measure_v3,
    tick_to_price,
)
from keeper.signals.il_exit import (
    SEED_000_IL,
    ILExitParams,
    LossAvoided,
    RealPosition,
    decide_exit,
    estimate_loss_avoided,
    il_exposure_excess,
)

NOTHING = TokenAmount(0, 18)


def report(
    loss_pct: str,
    *,
    hold: str = "10000",
    fees: str = "0",
    rewards: str = "0",
    in_range: bool = True,
) -> ILReport:
    hold_usd = Decimal(hold)
    value = hold_usd * (1 - Decimal(loss_pct) / 100)
    return ILReport(NOTHING, NOTHING, value, hold_usd, Decimal(fees), Decimal(rewards), in_range)


def test_il_exit_params__defaults__seed_000_thresholds():
    params = ILExitParams()
    assert (params.min_il_bps, params.max_il_bps, params.count_fees_and_rewards) == (
        500,
        1_000,
        True,
    )
    assert SEED_000_IL.max_il_exposure_usd == Decimal(3_000)


def test_decide_exit__loss_above_10_percent__exits_whatever_the_estimate():
    decision = decide_exit(report("10.4"), exit_cost_usd=Decimal(30))
    assert decision.exit and decision.above_max
    assert decision.reason == "exit: net IL 10.40% >= max tolerance 10.00%; exit costs $30.00"


def test_decide_exit__loss_between_thresholds_and_avoided_beats_gas__exits():
    avoided = LossAvoided(divergence_usd=Decimal(120), fees_usd=Decimal(40))
    decision = decide_exit(report("6"), exit_cost_usd=Decimal(50), loss_avoided=avoided)
    assert decision.exit and not decision.above_max
    assert "staying risks $80.00 over 30 days > exit cost $50.00" in decision.reason


def test_decide_exit__loss_between_thresholds_and_gas_dearer__holds():
    avoided = LossAvoided(divergence_usd=Decimal(120), fees_usd=Decimal(40))
    decision = decide_exit(report("6"), exit_cost_usd=Decimal(80), loss_avoided=avoided)
    assert not decision.exit
    assert decision.reason.startswith("hold: ") and "<= exit cost $80.00" in decision.reason


def test_decide_exit__between_thresholds_without_estimate__holds_and_says_so():
    decision = decide_exit(report("7"), exit_cost_usd=Decimal(5))
    assert not decision.exit and "no estimate of the loss avoided" in decision.reason


def test_decide_exit__below_5_percent__holds():
    decision = decide_exit(report("4.99"), exit_cost_usd=Decimal(1))
    assert not decision.exit and decision.reason == "hold: net IL 4.99% < min 5.00%"


def test_decide_exit__fees_and_rewards_cover_part_of_the_loss__counted_by_default():
    # Gross 11 % but $300 fees + $200 rewards on $10,000: net 6 %, no longer above the max.
    r = report("11", fees="300", rewards="200")
    assert not decide_exit(r, exit_cost_usd=Decimal(10)).exit
    gross = ILExitParams(count_fees_and_rewards=False)
    assert decide_exit(r, exit_cost_usd=Decimal(10), params=gross).exit


def test_decide_exit__out_of_range__flagged_in_the_line():
    decision = decide_exit(report("2", in_range=False), exit_cost_usd=Decimal(1))
    assert decision.out_of_range
    assert decision.reason.endswith("; out of range, earning no fees")


def test_decide_exit__exit_costs_more_than_the_position__holds():
    decision = decide_exit(report("50", hold="40"), exit_cost_usd=Decimal(25))
    assert not decision.exit and "more than the position's $20.00" in decision.reason


def test_il_exit_params__min_above_max__config_error_names_fields():
    with pytest.raises(ConfigError, match="min_il_bps .* max_il_bps"):
        ILExitParams(min_il_bps=1_500, max_il_bps=1_000)


def test_il_exposure_excess__seed_000_cap_3000__reports_the_excess():
    reports = [report("1", hold="2000"), report("1", hold="1500")]
    assert il_exposure_excess(reports, SEED_000_IL) == Decimal(3465) - Decimal(3000)
    assert il_exposure_excess(reports, ILExitParams()) == 0


def test_estimate_loss_avoided__full_range__close_to_sigma_squared_t_over_8():
    position = RealPosition.from_v2_amounts(Decimal(1), Decimal(2_000))
    prices = PairPrices(Decimal(2_000), Decimal(1))
    estimate = estimate_loss_avoided(
        position,
        prices,
        volatility=Decimal("0.8"),
        horizon_days=30,
        fee_apr=Decimal(0),
        in_range=True,
    )
    value = Decimal(4_000)
    second_order = Decimal("0.64") * 30 / 365 / 8 * value
    assert abs(estimate.divergence_usd / second_order - 1) < Decimal("0.02")
    assert estimate.usd == estimate.divergence_usd


def test_estimate_loss_avoided__fees_exceed_divergence__nothing_avoided():
    position = RealPosition.from_v2_amounts(Decimal(1), Decimal(2_000))
    estimate = estimate_loss_avoided(
        position,
        PairPrices(Decimal(2_000), Decimal(1)),
        volatility=Decimal("0.2"),
        horizon_days=30,
        fee_apr=Decimal("0.5"),
        in_range=True,
    )
    assert estimate.fees_usd > estimate.divergence_usd and estimate.usd == 0


def _v3(lower: int, upper: int, now: int) -> tuple[RealPosition, PairPrices, bool]:
    liquidity = 10**20
    d0, d1 = deposit_at_entry(v3.get_sqrt_ratio_at_tick(0), lower, upper, liquidity)
    position = V3Position(liquidity, lower, upper, d0, d1, 18, 18)
    pool = V3PoolState(v3.get_sqrt_ratio_at_tick(now), now)
    prices = PairPrices(tick_to_price(now, 18, 18), Decimal(1))
    return RealPosition.from_v3(position, pool), prices, measure_v3(position, pool, prices).in_range


def test_estimate_loss_avoided__narrow_range__more_at_risk_per_dollar_than_full_range():
    kw = dict(volatility=Decimal("0.6"), horizon_days=14, fee_apr=Decimal(0), in_range=True)
    narrow, prices, _ = _v3(-600, 600, 0)
    full, _, _ = _v3(-887220, 887220, 0)
    per_dollar = [
        estimate_loss_avoided(p, prices, **kw).divergence_usd / (p.value_in_token1(p.sqrt_price))
        for p in (narrow, full)
    ]
    assert per_dollar[0] > 5 * per_dollar[1]


def test_estimate_loss_avoided__out_of_range__no_fees_expected():
    position, prices, in_range = _v3(-600, 600, 1_200)
    assert not in_range
    estimate = estimate_loss_avoided(
        position,
        prices,
        volatility=Decimal("0.6"),
        horizon_days=14,
        fee_apr=Decimal("0.3"),
        in_range=in_range,
    )
    assert estimate.fees_usd == 0


def test_real_position_from_v3__mixed_decimals__same_value_as_exact_amounts():
    # USDC (6) / WETH (18): the human liquidity must value the position like the integer maths.
    liquidity, lower, upper, now = 10**17, -207_240, -195_000, -200_000
    d0, d1 = deposit_at_entry(v3.get_sqrt_ratio_at_tick(now), lower, upper, liquidity)
    position = V3Position(liquidity, lower, upper, d0, d1, 6, 18)
    pool = V3PoolState(v3.get_sqrt_ratio_at_tick(now), now)
    eth_per_usdc = tick_to_price(now, 6, 18)
    prices = PairPrices(eth_per_usdc * 2_000, Decimal(2_000))
    exact = measure_v3(position, pool, prices).value_usd
    real = RealPosition.from_v3(position, pool)
    assert abs(real.value_in_token1(real.sqrt_price) * 2_000 / exact - 1) < Decimal("1e-9")
