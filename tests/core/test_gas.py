"""Gas policy (pure): fee suggestion, caps, the defer/act decision, replacement, cost-benefit."""

from decimal import Decimal

import pytest

from keeper.errors import ConfigError
from keeper.signals.gas import (
    FeeHistory,
    FeeSuggestion,
    GasCaps,
    GasVerdict,
    Trend,
    arbitrum_split,
    bump_fees,
    cost_benefit,
    decide,
    fee_ceiling,
    next_base_fee,
    suggest_fees,
    tx_cost_wei,
    usd_to_wei,
    wei_to_usd,
)

GWEI = 10**9
ETH_USD = Decimal("3000")


def history(base_fees, rewards=None, ratios=None, percentiles=(10.0, 50.0, 90.0)):
    blocks = len(base_fees) - 1
    ratios = ratios if ratios is not None else [0.5] * blocks
    rewards = rewards if rewards is not None else [[GWEI, 2 * GWEI, 3 * GWEI]] * blocks
    return FeeHistory(
        0, tuple(base_fees), tuple(ratios), tuple(tuple(r) for r in rewards), tuple(percentiles)
    )


def test_next_base_fee__full_block__rises_one_eighth():
    assert next_base_fee(8 * GWEI, 30_000_000, 30_000_000) == 9 * GWEI


def test_next_base_fee__empty_block__falls_one_eighth():
    assert next_base_fee(8 * GWEI, 0, 30_000_000) == 7 * GWEI


def test_next_base_fee__at_target__unchanged():
    assert next_base_fee(8 * GWEI, 15_000_000, 30_000_000) == 8 * GWEI


def test_suggest_fees__median_percentile__priority_is_median_of_blocks():
    rewards = [[0, 1 * GWEI, 0], [0, 3 * GWEI, 0], [0, 2 * GWEI, 0]]
    s = suggest_fees(history([10 * GWEI] * 4, rewards))
    assert s.priority_fee_wei == 2 * GWEI
    assert s.base_fee_wei == 10 * GWEI


def test_suggest_fees__empty_blocks__ignored_for_priority():
    rewards = [[0, 0, 0], [0, 5 * GWEI, 0], [0, 0, 0]]
    s = suggest_fees(history([GWEI] * 4, rewards, ratios=[0.0, 0.4, 0.0]))
    assert s.priority_fee_wei == 5 * GWEI


def test_suggest_fees__all_blocks_empty__minimum_priority():
    s = suggest_fees(
        history([GWEI] * 4, [[0, 0, 0]] * 3, ratios=[0.0] * 3), min_priority_fee_wei=12345
    )
    assert s.priority_fee_wei == 12345


def test_suggest_fees__six_blocks_headroom__max_fee_about_twice_base():
    s = suggest_fees(history([8**6] * 3), headroom_blocks=6)
    assert s.max_fee_wei == 9**6 + s.priority_fee_wei  # exact, no rounding needed here


def test_suggest_fees__bad_reward_index__clear_error():
    with pytest.raises(ValueError, match="reward_index 5"):
        suggest_fees(history([GWEI] * 3), reward_index=5)


def test_fee_history__base_fee_count_wrong__refused():
    with pytest.raises(ValueError, match="blocks \\+ 1"):
        FeeHistory(0, (1, 2), (0.5, 0.5), (), ())


def test_trend__spike_at_end__rising():
    assert suggest_fees(history([GWEI, GWEI, GWEI, 3 * GWEI])).trend is Trend.RISING


def test_trend__falling_base__falling():
    assert (
        suggest_fees(history([90 * GWEI, 80 * GWEI, 70 * GWEI, 40 * GWEI])).trend is Trend.FALLING
    )


def test_wei_to_usd__one_eth__price():
    assert wei_to_usd(10**18, ETH_USD) == ETH_USD


def test_usd_to_wei__inexact__rounds_down():
    assert usd_to_wei(Decimal(1), Decimal(3)) == 333333333333333333


def test_tx_cost__op_stack__adds_l1_fee():
    assert tx_cost_wei(100_000, 2 * GWEI, l1_fee_wei=5 * 10**12) == 200_000 * GWEI + 5 * 10**12


def test_arbitrum_split__components__l1_fee_in_wei():
    l2_gas, l1_fee = arbitrum_split(500_000, 200_000, 10**8)
    assert (l2_gas, l1_fee) == (300_000, 200_000 * 10**8)


def test_caps__float__config_error():
    with pytest.raises(ConfigError, match="max_fee_gwei"):
        GasCaps(max_fee_gwei=50.0)


def test_caps__emergency_below_normal__config_error():
    with pytest.raises(ConfigError, match="emergency_max_usd_per_tx"):
        GasCaps(emergency_max_usd_per_tx=Decimal(10))


def test_fee_ceiling__big_tx__usd_cap_binds():
    # 1,000,000 gas at 3000 USD/ETH: $50 buys 16.67 gwei per gas, below the 50 gwei cap
    c = fee_ceiling(GasCaps(), gas_units=1_000_000, eth_usd=ETH_USD)
    assert c.binding == "usd cap"
    assert c.wei_per_gas == usd_to_wei(Decimal(50), ETH_USD) // 1_000_000


def test_fee_ceiling__small_tx__gwei_cap_binds():
    c = fee_ceiling(GasCaps(), gas_units=21_000, eth_usd=ETH_USD)
    assert (c.binding, c.wei_per_gas) == ("gwei cap", 50 * GWEI)


def test_fee_ceiling__l1_fee_eats_budget__lower_ceiling():
    plain = fee_ceiling(GasCaps(), gas_units=1_000_000, eth_usd=ETH_USD)
    l2 = fee_ceiling(GasCaps(), gas_units=1_000_000, eth_usd=ETH_USD, l1_fee_wei=10**15)
    assert l2.wei_per_gas < plain.wei_per_gas


def spike(base_gwei, tip_gwei=1):
    return FeeSuggestion(
        base_gwei * GWEI, tip_gwei * GWEI, 2 * base_gwei * GWEI + tip_gwei * GWEI, Trend.FLAT
    )


def test_decide__calm_gas__acts_with_max_fee_clamped_to_cap():
    d = decide(spike(30), GasCaps(), gas_units=200_000, eth_usd=ETH_USD)
    assert d.verdict is GasVerdict.ACT
    assert d.max_fee_wei == 50 * GWEI  # suggested 61 gwei, clamped to the cap
    assert d.worst_cost_usd <= Decimal(50)


def test_decide__spike_over_gwei_cap__defers_with_reason():
    d = decide(spike(120), GasCaps(), gas_units=200_000, eth_usd=ETH_USD)
    assert d.verdict is GasVerdict.DEFER_GWEI_CAP
    assert not d.act
    assert "121.00 gwei is over the 50 gwei cap" in d.reason


def test_decide__big_tx_over_usd_cap__defers_with_usd_reason():
    d = decide(spike(20), GasCaps(), gas_units=1_000_000, eth_usd=ETH_USD)
    assert d.verdict is GasVerdict.DEFER_USD_CAP
    assert "$63.00, over the $50 cap" in d.reason


def test_decide__critical_within_emergency__acts_and_says_so():
    d = decide(spike(120), GasCaps(), gas_units=200_000, eth_usd=ETH_USD, critical=True)
    assert d.verdict is GasVerdict.ACT_EMERGENCY
    assert "critical drift" in d.reason and "emergency" in d.reason
    assert d.max_fee_wei <= 200 * GWEI


def test_decide__critical_over_emergency__still_defers():
    d = decide(spike(500), GasCaps(), gas_units=200_000, eth_usd=ETH_USD, critical=True)
    assert not d.act
    assert "emergency caps" in d.reason


def test_bump__normal__both_fields_up_at_least_12_5_percent():
    assert bump_fees(80, 8, cap_wei=1000) == (90, 9)


def test_bump__rounding__rounds_up():
    new_max, new_tip = bump_fees(81, 7, cap_wei=1000)
    assert new_max * 8 >= 81 * 9 and new_tip * 8 >= 7 * 9


def test_bump__zero_tip__raised_by_one_wei():
    assert bump_fees(100, 0, cap_wei=1000) == (113, 1)


def test_bump__over_cap__none():
    assert bump_fees(900, 10, cap_wei=1000) is None


def test_bump__ten_percent__refused():
    with pytest.raises(ValueError, match="12.5%"):
        bump_fees(100, 1, cap_wei=1000, bump_bps=1000)


def test_cost_benefit__benefit_above_cost__acts():
    r = cost_benefit(benefit_usd=Decimal(100), gas_usd=Decimal(20), slippage_usd=Decimal(30))
    assert r.act and r.net_usd == Decimal(50)


def test_cost_benefit__benefit_equals_cost__does_not_act():
    r = cost_benefit(benefit_usd=Decimal(50), gas_usd=Decimal(20), slippage_usd=Decimal(30))
    assert not r.act and "not worth it" in r.reason


def test_cost_benefit__float__refused():
    with pytest.raises(TypeError, match="benefit_usd"):
        cost_benefit(benefit_usd=1.0, gas_usd=Decimal(0), slippage_usd=Decimal(0))
