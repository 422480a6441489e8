"""The yield-migration planner under seed 002's stablecoin-vault triggers and seed 000's caps."""

from decimal import Decimal

import pytest

from keeper.errors import ConfigError
from keeper.money import TokenAmount
from keeper.signals.migration import plan_migrations, plan_slices
from keeper.signals.migration_rules import (
    MigrationParams,
    ProtocolCaps,
    StrategyBand,
    YieldHolding,
    seed_000_caps,
)

D = Decimal


def usdc(
    id_: str,
    protocol: str,
    amount: str,
    apy: str,
    *,
    strategy: str = "lending",
    asset: str = "USDC",
    gas: str = "2",
    stablecoin: bool = True,
    pool: str = "usd",
    max_deposit: int | None = None,
) -> YieldHolding:
    return YieldHolding(
        id=id_,
        pool=pool,
        protocol=protocol,
        strategy=strategy,
        asset=asset,
        amount=TokenAmount.of(amount, 6),
        price_usd=D(1),
        apy=D(apy),
        stablecoin=stablecoin,
        exit_gas_usd=D(gas),
        entry_gas_usd=D(gas),
        max_deposit=max_deposit,
    )


def test_migration_params__defaults__seed_002_stablecoin_vault_triggers():
    params = MigrationParams()
    assert params.min_apy_diff_bps == 50  # "move if 0.5% APY difference"
    assert params.max_slippage_bps == 10  # "max_slippage: 0.1%"
    assert params.max_gas_bps == 1  # "gas costs under 0.01% of position"


def test_plan__gap_0_4_percent__no_move_with_reason():
    plan = plan_migrations(
        [usdc("aave", "aave", "100000", "0.030"), usdc("comet", "comet", "0", "0.034")]
    )
    assert plan.moves == ()
    assert plan.no_moves[0].reason == "to comet: risk-adjusted APY gap 0.40% < min 0.50%"


def test_plan__gap_0_6_percent_on_100k__moves_everything():
    plan = plan_migrations(
        [usdc("aave", "aave", "100000", "0.030"), usdc("comet", "comet", "0", "0.036")]
    )
    (move,) = plan.moves
    assert (move.from_id, move.to_id, move.amount.raw, move.kind) == (
        "aave",
        "comet",
        100_000 * 10**6,
        "yield",
    )
    assert move.economics.annual_gain_usd == D(600)
    assert move.economics.cost_usd == D(4)
    assert move.reason == (
        "aave -> comet: move $100,000.00, risk-adjusted APY gap 0.60%, gains $600.00/yr,"
        " costs $4.00, payback 2.4 days"
    )


def test_plan__gas_above_0_01_percent_of_the_move__refused():
    # $20 of gas on $100,000 is 0.02 %.
    plan = plan_migrations(
        [
            usdc("aave", "aave", "100000", "0.03", gas="10"),
            usdc("comet", "comet", "0", "0.05", gas="10"),
        ]
    )
    assert plan.moves == ()
    assert "above max 0.01%" in plan.no_moves[0].reason


def test_plan__swap_slippage_above_0_1_percent__refused():
    holdings = [
        usdc("aave", "aave", "100000", "0.03"),
        usdc("vault", "yearn", "0", "0.05", asset="DAI"),
    ]
    refused = plan_migrations(holdings, swap_slippage_bps={("USDC", "DAI"): D(15)})
    assert (
        refused.moves == ()
        and refused.no_moves[0].reason == "to vault: slippage 15 bps > max 10 bps"
    )
    accepted = plan_migrations(holdings, swap_slippage_bps={("USDC", "DAI"): D(5)})
    assert accepted.moves[0].economics.fees_usd == D(50)


def test_plan__cross_asset_without_slippage_estimate__refused_not_guessed():
    holdings = [
        usdc("aave", "aave", "100000", "0.03"),
        usdc("vault", "yearn", "0", "0.05", asset="DAI"),
    ]
    plan = plan_migrations(holdings)
    assert plan.no_moves[0].reason == "to vault: no slippage estimate for USDC -> DAI"


def test_plan__payback_beyond_limit__refused():
    params = MigrationParams(max_gas_bps=None, max_payback_days=30)
    plan = plan_migrations(
        [
            usdc("aave", "aave", "10000", "0.03", gas="10"),
            usdc("comet", "comet", "0", "0.04", gas="10"),
        ],
        params,
    )
    # gains $100/yr for $20 of gas: 73 days to pay back.
    assert plan.no_moves[0].reason == "to comet: payback 73.0 days > max 30 days"


def test_plan__risk_weight_halves_a_higher_apy__safer_protocol_chosen():
    params = MigrationParams(risk_weights={"degen": D("0.5")})
    plan = plan_migrations(
        [
            usdc("aave", "aave", "500000", "0.02"),
            usdc("degen", "degen", "0", "0.08"),
            usdc("comet", "comet", "0", "0.045"),
        ],
        params,
    )
    assert [m.to_id for m in plan.moves] == ["comet"]


def test_plan__large_position__first_of_even_slices_and_remaining():
    params = MigrationParams(max_slice_usd=D(300_000))
    plan = plan_migrations(
        [usdc("aave", "aave", "1000000", "0.03"), usdc("comet", "comet", "0", "0.045")], params
    )
    (move,) = plan.moves
    assert (move.slice_number, move.slices_total) == (1, 4)
    assert move.amount.raw == 250_000 * 10**6 and move.remaining.raw == 750_000 * 10**6


def test_plan__destination_deposit_limit__respected():
    plan = plan_migrations(
        [
            usdc("aave", "aave", "500000", "0.03"),
            usdc("vault", "yearn", "0", "0.05", max_deposit=120_000 * 10**6),
        ]
    )
    assert plan.moves[0].amount.raw == 120_000 * 10**6


SEED_000 = MigrationParams(
    caps=seed_000_caps(), max_gas_bps=None, horizon_days=365, max_payback_days=365
)


def test_seed_000__single_protocol_max_4500__move_stops_at_the_cap():
    plan = plan_migrations(
        [
            usdc("aave", "aave", "3000", "0.02"),
            usdc("comet", "comet", "4000", "0.08"),
            usdc("vault", "yearn", "500", "0.02"),
        ],
        SEED_000,
    )
    moved_into_comet = sum(m.economics.amount_usd for m in plan.moves if m.to_id == "comet")
    assert moved_into_comet == D(500)
    assert any("comet is at its protocol cap $4,500" in n.reason for n in plan.no_moves)


def test_seed_000__protocol_above_4950__brought_back_to_4500_even_at_lower_yield():
    plan = plan_migrations(
        [usdc("aave", "aave", "5000", "0.05"), usdc("comet", "comet", "2000", "0.03")], SEED_000
    )
    (move,) = plan.moves
    assert move.kind == "cap" and move.economics.amount_usd == D(500)
    assert move.economics.annual_gain_usd < 0
    assert "aave holds more than its cap $4,500 + $450" in move.reason


def test_seed_000__protocol_far_above_cap__spread_over_destinations_and_rest_reported():
    plan = plan_migrations(
        [
            usdc("aave", "aave", "9000", "0.05"),
            usdc("comet", "comet", "4000", "0.04"),
            usdc("vault", "yearn", "1000", "0.03"),
        ],
        SEED_000,
    )
    assert [(m.to_id, m.economics.amount_usd) for m in plan.moves] == [
        ("comet", D(500)),
        ("vault", D(3_500)),
    ]
    assert all(m.kind == "cap" for m in plan.moves)
    assert plan.no_moves[0].reason == "aave is still $500.00 over its cap: no destination has room"


def test_seed_000__protocol_at_4900__inside_tolerance__no_cap_move():
    plan = plan_migrations(
        [usdc("aave", "aave", "4900", "0.05"), usdc("comet", "comet", "2000", "0.03")], SEED_000
    )
    assert plan.moves == ()


def test_seed_000__stablecoin_minimum_7500__never_crossed():
    params = MigrationParams(
        caps=ProtocolCaps(stablecoin_min_usd=D(7_500)),
        max_gas_bps=None,
        horizon_days=365,
        max_payback_days=365,
    )
    plan = plan_migrations(
        [
            usdc("aave", "aave", "8000", "0.02"),
            usdc("lp", "uniswap", "0", "0.12", strategy="liquidity", stablecoin=False),
        ],
        params,
    )
    assert plan.moves[0].economics.amount_usd == D(500)


def test_seed_000__strategy_split_lending_max_8250__caps_inflow():
    params = MigrationParams(
        caps=ProtocolCaps(strategy_bands={"lending": StrategyBand(D(7_500), D(750))}),
        max_gas_bps=None,
        horizon_days=365,
        max_payback_days=365,
    )
    plan = plan_migrations(
        [
            usdc("farm", "curve", "3000", "0.01", strategy="farming"),
            usdc("aave", "aave", "8000", "0.04"),
        ],
        params,
    )
    assert plan.moves[0].economics.amount_usd == D(250)


def test_migration_params__risk_weight_above_one__config_error_names_protocol():
    with pytest.raises(ConfigError, match="risk_weights.aave"):
        MigrationParams(risk_weights={"aave": D("1.5")})


def test_plan_slices__uneven_total__sizes_differ_by_at_most_one():
    assert plan_slices(10, 3) == (3, 3, 2, 2)
    assert plan_slices(7, None) == (7,)
    assert plan_slices(0, 5) == ()
