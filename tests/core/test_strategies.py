from decimal import Decimal

from keeper.core.drift import compute_drift
from keeper.core.spec import Band, BandMode, Cadence, Limits, ReturnTo, StrategyKind, StrategySpec
from keeper.core.strategies import RunContext, choose
from keeper.core.synthetic import NOW, A, H, portfolio, venue

D = Decimal
SCHEDULED = RunContext(NOW, scheduled=True, cadence=Cadence.WEEKLY)
DAILY_CHECK = RunContext(NOW, scheduled=False, cadence=Cadence.DAILY)


def _goal(
    values,
    *,
    kind=StrategyKind.THRESHOLD,
    ctx=SCHEDULED,
    targets=None,
    frequencies=None,
    limits=None,
    strategy=None,
    class_band=None,
    bands=None,
):
    targets = targets or {"BTC": "0.4", "ETH": "0.3", "USDC": "0.3"}
    assets = [
        A(a, "cash" if a == "USDC" else "crypto", t, band=(bands or {}).get(a), cash=a == "USDC")
        for a, t in targets.items()
    ]
    spec, snap = portfolio(
        assets,
        [venue("dex")],
        [H(a, "dex", v) for a, v in values.items()],
        strategy=strategy or StrategySpec(kind=kind),
        frequencies=frequencies,
        limits=limits,
        class_band=class_band,
    )
    report = compute_drift(spec, snap)
    return choose(report, spec, ctx), report


def test_threshold__one_asset_past_band__must_to_target_others_may():
    goal, _ = _goal({"BTC": "50000", "ETH": "25000", "USDC": "25000"})  # BTC +10k, band +-4k soft
    btc, eth = goal.move("BTC"), goal.move("ETH")
    assert btc.must_sell == D(10_000) and btc.may_sell == 0
    assert eth.must_buy == D(5_000)  # ETH -5k vs a 3k soft band: past it too
    assert goal.no_action_reason is None


def test_threshold__everything_in_band__no_action_with_reason():
    goal, _ = _goal({"BTC": "41000", "ETH": "29500", "USDC": "29500"})
    assert goal.moves == () and "within its soft band" in goal.no_action_reason


def test_band_to_edge__past_band__must_only_to_inside_the_edge():
    strategy = StrategySpec(kind=StrategyKind.BAND, return_to=ReturnTo.EDGE, edge_margin=D("0.1"))
    goal, report = _goal({"BTC": "50000", "ETH": "27000", "USDC": "23000"}, strategy=strategy)
    soft = report.asset("BTC").soft_usd  # 4,000
    btc = goal.move("BTC")
    assert btc.must_sell == D(10_000) - soft * D("0.9")
    assert btc.may_sell == soft * D("0.9")  # the rest of the way to target is optional


def test_calendar__scheduled__every_asset_must_go_to_target():
    goal, _ = _goal({"BTC": "41000", "ETH": "29500", "USDC": "29500"}, kind=StrategyKind.CALENDAR)
    assert goal.move("BTC").must_sell == D(1000) and goal.move("ETH").must_buy == D(500)


def test_calendar__off_schedule_no_hard_breach__no_action():
    goal, _ = _goal(
        {"BTC": "45000", "ETH": "26000", "USDC": "29000"},
        kind=StrategyKind.CALENDAR,
        ctx=DAILY_CHECK,
    )
    assert goal.moves == () and "hard limit" in goal.no_action_reason


def test_calendar__off_schedule_hard_breach__urgent_override_acts():
    values = {
        "BTC": "50000",
        "ETH": "20000",
        "USDC": "30000",
    }  # BTC +25% of target: past the hard limit
    goal, _ = _goal(values, kind=StrategyKind.CALENDAR, ctx=DAILY_CHECK)
    assert goal.move("BTC").must_sell == D(10_000)
    goal, _ = _goal(
        values,
        kind=StrategyKind.CALENDAR,
        ctx=DAILY_CHECK,
        strategy=StrategySpec(kind=StrategyKind.CALENDAR, urgent_override=False),
    )
    assert goal.moves == () and "not a scheduled run" in goal.no_action_reason


def test_hybrid__off_schedule_soft_breach__waits_for_the_schedule():
    values = {"BTC": "45000", "ETH": "26000", "USDC": "29000"}  # BTC +12.5%: soft, not hard
    goal, _ = _goal(values, kind=StrategyKind.HYBRID, ctx=DAILY_CHECK)
    assert goal.moves == ()
    goal, _ = _goal(values, kind=StrategyKind.HYBRID, ctx=SCHEDULED)
    assert goal.move("BTC").must_sell == D(5_000)


def test_cash_flow__deposit_in_cash__buys_underweight_never_sells():
    goal, _ = _goal({"BTC": "45000", "ETH": "20000", "USDC": "35000"}, kind=StrategyKind.CASH_FLOW)
    assert goal.move("ETH").must_buy == D(10_000)
    assert goal.move("USDC").may_sell == D(5_000)
    assert goal.move("BTC") is None  # overweight, but cash-flow never sells it


def test_cash_flow__no_cash_above_target__no_action():
    goal, _ = _goal({"BTC": "50000", "ETH": "25000", "USDC": "25000"}, kind=StrategyKind.CASH_FLOW)
    assert goal.moves == () and "never sells" in goal.no_action_reason


def test_frequency_matrix__weekly_class_on_daily_run__frozen_with_note():
    values = {"BTC": "45000", "ETH": "26000", "USDC": "29000"}
    goal, _ = _goal(values, ctx=DAILY_CHECK, frequencies={"crypto": Cadence.WEEKLY})
    assert goal.moves == ()
    assert any("trades weekly or slower" in n for n in goal.notes)


def test_frequency_matrix__hard_breach__urgent_override_trades_anyway():
    goal, _ = _goal(
        {"BTC": "50000", "ETH": "20000", "USDC": "30000"},
        ctx=DAILY_CHECK,
        frequencies={"crypto": Cadence.WEEKLY},
    )
    assert goal.move("BTC").must_sell == D(10_000)


def test_class_band__class_past_band_assets_inside__same_side_assets_must_move():
    # each asset is inside its own wide band, but the crypto class (70% target, +-5% band) is +7pp
    wide = Band(D("0.5"), D("0.9"))
    goal, report = _goal(
        {"BTC": "44000", "ETH": "33000", "USDC": "23000"},
        bands={"BTC": wide, "ETH": wide},
        class_band=Band(D("0.05"), D("0.10")),
    )
    assert report.asset_class("crypto").status.out_of_band
    assert goal.move("BTC").must_sell + goal.move("ETH").must_sell == D(7_000)


def test_max_single_asset__in_band_but_above_cap__must_sell_down_to_cap():
    goal, report = _goal(
        {"BTC": "52000", "ETH": "24000", "USDC": "24000"},
        targets={"BTC": "0.45", "ETH": "0.3", "USDC": "0.25"},
        bands={"BTC": Band(D("0.2"), D("0.4"))},
        limits=Limits(max_single_asset=D("0.5")),
    )
    assert report.asset("BTC").status.value in ("within range", "approaching")
    assert goal.move("BTC").must_sell >= D(2_000)


def test_max_single_asset__buy_would_cross_cap__trimmed_with_note():
    goal, _ = _goal(
        {"BTC": "30000", "ETH": "35000", "USDC": "35000"},
        targets={"BTC": "0.5", "ETH": "0.25", "USDC": "0.25"},
        limits=Limits(max_single_asset=D("0.4")),
    )
    assert goal.move("BTC").must_buy + goal.move("BTC").may_buy <= D(10_000)
    assert any("max single asset" in n for n in goal.notes)


def test_absolute_band__seed_001_style__5_points_either_side():
    pp5 = Band(D("0.05"), D("0.10"), BandMode.ABSOLUTE)
    _, report = _goal({"BTC": "45200", "ETH": "25000", "USDC": "29800"}, bands={"BTC": pp5})
    assert report.asset("BTC").status.out_of_band  # 45.2% vs 40%: "exceeds 5% drift threshold"
