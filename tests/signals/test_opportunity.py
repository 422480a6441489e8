"""Drift, yield and IL on one USD scale, each act or deferral explained in one line."""

from decimal import Decimal

from keeper.money import TokenAmount
from keeper.signals.il import ILReport
from keeper.signals.il_exit import LossAvoided, decide_exit
from keeper.signals.migration import plan_migrations
from keeper.signals.migration_rules import MigrationParams, YieldHolding
from keeper.signals.opportunity import (
    Opportunity,
    OpportunityParams,
    from_drift,
    from_exit,
    from_move,
    weigh,
)

D = Decimal


def yield_opp(subject: str, annual: str, cost: str, *, horizon_days: int = 90) -> Opportunity:
    return Opportunity(
        kind="yield",
        subject=subject,
        benefit_usd=D(annual) * horizon_days / 365,
        annual_benefit_usd=D(annual),
        gas_usd=D(cost),
        other_cost_usd=D(0),
        value_touched_usd=D(100_000),
        mandatory=False,
        why_now="risk-adjusted APY gap 0.60%",
    )


def test_weigh__yield_move_from_the_planner__acts_with_one_line():
    holdings = [
        YieldHolding(
            "aave:USDC",
            "usd",
            "aave",
            "lending",
            "USDC",
            TokenAmount.of("250000", 6),
            D(1),
            D("0.031"),
            True,
            exit_gas_usd=D(6),
            entry_gas_usd=D(8),
        ),
        YieldHolding(
            "comet:USDC",
            "usd",
            "comet",
            "lending",
            "USDC",
            TokenAmount(0, 6),
            D(1),
            D("0.043"),
            True,
            exit_gas_usd=D(6),
            entry_gas_usd=D(8),
        ),
    ]
    plan = plan_migrations(holdings, MigrationParams(max_gas_bps=D(10)))
    (verdict,) = weigh([from_move(m) for m in plan.moves])
    assert verdict.act
    assert verdict.line == (
        "act yield aave:USDC -> comet:USDC: gains $3,000.00/yr, costs $14.00, payback 1.7 days;"
        " why now: risk-adjusted APY gap 1.20%"
    )


def test_weigh__benefit_below_cost__deferred_with_the_numbers():
    (verdict,) = weigh([yield_opp("a -> b", "10", "5")])
    assert not verdict.act
    assert verdict.line.endswith("deferred: benefit $2.47 does not cover cost $5.00")


def test_weigh__payback_too_long__deferred():
    (verdict,) = weigh([yield_opp("a -> b", "100", "20")], OpportunityParams(max_payback_days=30))
    assert not verdict.act and "payback 73.0 days > max 30" in verdict.line


def test_weigh__drift_outside_band__mandatory_act_without_a_usd_benefit():
    drift = from_drift(
        "ETH", drift_usd=D(1_200), band_usd=D(1_000), gas_usd=D(6), other_cost_usd=D(2)
    )
    (verdict,) = weigh([drift])
    assert verdict.act
    assert verdict.line == (
        "act drift ETH: restores $1,200.00 to target, costs $8.00, no payback;"
        " why now: $1,200.00 over target, band $1,000.00"
    )


def test_weigh__drift_outside_band_but_gas_above_1_percent__waits():
    drift = from_drift(
        "ETH", drift_usd=D(-1_200), band_usd=D(1_000), gas_usd=D(40), other_cost_usd=D(0)
    )
    (verdict,) = weigh([drift])
    assert not verdict.act and "waiting for cheaper gas" in verdict.line


def test_weigh__drift_inside_band__deferred_as_inside_band():
    drift = from_drift(
        "BTC", drift_usd=D(800), band_usd=D(2_000), gas_usd=D(6), other_cost_usd=D(0)
    )
    (verdict,) = weigh([drift])
    assert not verdict.act and verdict.line.endswith(
        "deferred: inside band ($800.00 over target, band $2,000.00)"
    )


def _il(loss_pct: str) -> ILReport:
    nothing = TokenAmount(0, 18)
    hold = D(10_000)
    return ILReport(nothing, nothing, hold * (1 - D(loss_pct) / 100), hold, D(0), D(0), True)


def test_weigh__il_above_max__mandatory_exit():
    report = _il("12")
    decision = decide_exit(report, exit_cost_usd=D(25))
    (verdict,) = weigh([from_exit("ETH/USDC #7", report, decision, gas_usd=D(25))])
    assert verdict.act
    assert "why now: net IL 12.00% >= max tolerance 10.00%" in verdict.line


def test_weigh__il_between_thresholds_and_gas_dearer__deferred_with_the_rule_reason():
    report = _il("6")
    decision = decide_exit(report, exit_cost_usd=D(30), loss_avoided=LossAvoided(D(20), D(0)))
    (verdict,) = weigh([from_exit("ETH/USDC #7", report, decision, gas_usd=D(30))])
    assert not verdict.act
    assert verdict.line.startswith(
        "defer il ETH/USDC #7: avoids $20.00 of further loss, costs $30.00"
    )


def test_weigh__small_wins_do_not_cover_the_batch_overhead__all_deferred():
    params = OpportunityParams(batch_overhead_usd=D(10))
    verdicts = weigh([yield_opp("a", "20", "1"), yield_opp("b", "20", "1")], params)
    assert not any(v.act for v in verdicts)
    assert "not the batch overhead $10.00" in verdicts[0].line


def test_weigh__mandatory_act_pays_the_overhead__small_wins_ride_along():
    params = OpportunityParams(batch_overhead_usd=D(10))
    drift = from_drift(
        "ETH", drift_usd=D(5_000), band_usd=D(1_000), gas_usd=D(6), other_cost_usd=D(0)
    )
    verdicts = weigh([drift, yield_opp("a", "20", "1"), yield_opp("b", "20", "1")], params)
    assert all(v.act for v in verdicts)


def test_weigh__seed_000_max_gas_50_per_tx__lowest_net_dropped_first():
    params = OpportunityParams(max_batch_gas_usd=D(50))
    verdicts = weigh([yield_opp("small", "1000", "30"), yield_opp("big", "9000", "30")], params)
    assert [v.act for v in verdicts] == [False, True]
    assert "batch gas would exceed the $50.00 limit" in verdicts[0].line
