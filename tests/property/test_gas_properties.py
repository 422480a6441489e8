"""Properties of the gas policy, each shown failing once against a deliberately broken variant."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from keeper.signals.gas import (
    MIN_REPLACEMENT_BUMP_BPS,
    FeeHistory,
    FeeSuggestion,
    GasCaps,
    Trend,
    bump_fees,
    decide,
    next_base_fee,
    suggest_fees,
    tx_cost_wei,
    wei_to_usd,
)

GWEI = 10**9
fees = st.integers(min_value=0, max_value=10_000 * GWEI)
prices = st.decimals(min_value=Decimal("1"), max_value=Decimal("100000"), places=2)
gas_units = st.integers(min_value=21_000, max_value=30_000_000)


@st.composite
def histories(draw):
    blocks = draw(st.integers(min_value=1, max_value=20))
    base = draw(st.lists(fees, min_size=blocks + 1, max_size=blocks + 1))
    ratios = draw(st.lists(st.floats(min_value=0, max_value=1), min_size=blocks, max_size=blocks))
    rewards = draw(st.lists(st.tuples(fees, fees, fees), min_size=blocks, max_size=blocks))
    return FeeHistory(0, tuple(base), tuple(ratios), tuple(rewards), (10.0, 50.0, 90.0))


@st.composite
def suggestions(draw):
    base, tip = draw(fees), draw(fees)
    extra = draw(fees)
    return FeeSuggestion(base, tip, base + tip + extra, Trend.FLAT)


def bump_ok(old: tuple[int, int], new: tuple[int, int]) -> bool:
    """The replacement rule: both fields rise by >= 12.5% (and strictly)."""
    return all(n * 8 >= o * 9 and n > o for o, n in zip(old, new, strict=True))


@given(fees, st.integers(0, 30_000_000), st.integers(2, 60_000_000))
def test_next_base_fee__any_block__moves_at_most_one_eighth(base, used, limit):
    used = min(used, 2 * (limit // 2))  # a block uses at most twice its target
    nxt = next_base_fee(base, used, limit)
    assert base - base // 8 - 1 <= nxt <= base + base // 8 + 1


@given(histories(), st.integers(0, 10**9))
def test_suggest_fees__any_history__max_fee_covers_next_base_and_tip(h, floor):
    s = suggest_fees(h, min_priority_fee_wei=floor)
    assert s.priority_fee_wei >= floor
    assert s.max_fee_wei >= s.base_fee_wei + s.priority_fee_wei


@given(suggestions(), gas_units, prices, st.booleans())
def test_decide__acting__never_signs_above_the_cap_that_applied(s, gas, eth_usd, critical):
    caps = GasCaps()
    d = decide(s, caps, gas_units=gas, eth_usd=eth_usd, critical=critical)
    if d.act:
        cap_usd = caps.emergency_max_usd_per_tx if critical else caps.max_usd_per_tx
        cap_gwei = caps.emergency_max_fee_gwei if critical else caps.max_fee_gwei
        assert d.max_fee_wei <= cap_gwei * GWEI
        assert wei_to_usd(tx_cost_wei(gas, d.max_fee_wei), eth_usd) <= cap_usd
        assert d.max_fee_wei >= s.expected_fee_per_gas_wei  # includable at the next base fee
        assert d.priority_fee_wei <= d.max_fee_wei


@given(suggestions(), gas_units, prices)
def test_decide__normal_defer__critical_only_widens(s, gas, eth_usd):
    normal = decide(s, GasCaps(), gas_units=gas, eth_usd=eth_usd)
    critical = decide(s, GasCaps(), gas_units=gas, eth_usd=eth_usd, critical=True)
    assert not normal.act or critical.act


@given(
    st.integers(1, 10**15), st.integers(0, 10**15), st.integers(MIN_REPLACEMENT_BUMP_BPS, 10_000)
)
def test_bump__any_fees__both_up_12_5_percent_and_within_cap(max_fee, tip, bps):
    tip = min(tip, max_fee)
    cap = max_fee * 3
    new = bump_fees(max_fee, tip, cap_wei=cap, bump_bps=bps)
    if new is None:
        assert max_fee * (10_000 + bps) > cap * 10_000
    else:
        assert bump_ok((max_fee, tip), new)
        assert new[0] <= cap and new[1] <= new[0]


def test_bump_rule__broken_ten_percent_bump__caught():
    """The invariant bites: a 10% bump (geth's minimum, not ours) fails `bump_ok`."""
    old = (1_000, 100)
    broken = (1_100, 110)
    assert not bump_ok(old, broken)
    assert bump_ok(old, bump_fees(*old, cap_wei=10**6))


def test_cap_rule__broken_unclamped_max_fee__caught():
    """The invariant bites: signing the suggested max fee unclamped breaks the USD cap."""
    s = FeeSuggestion(40 * GWEI, GWEI, 100 * GWEI, Trend.FLAT)
    gas, eth_usd = 300_000, Decimal(3000)
    d = decide(s, GasCaps(), gas_units=gas, eth_usd=eth_usd)
    assert d.act
    assert wei_to_usd(tx_cost_wei(gas, s.max_fee_wei), eth_usd) > Decimal(50)  # broken variant
    assert wei_to_usd(tx_cost_wei(gas, d.max_fee_wei), eth_usd) <= Decimal(50)  # ours
