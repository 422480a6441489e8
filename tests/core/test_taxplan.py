"""Tax-aware planning through the planner: lots chosen by the policy, each sale's estimated tax,
gains deferred inside a class, re-buy rules with substitutes, loss-harvest pairs.

Seed 000's cases run from examples/tax/keeper.yaml: its lot history (seed000-lots.csv, the same
lots as tests/tax/fixtures/seed000_lots.csv) and balances on seed 000's assessment day.
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from keeper.cli._common import load_and_read
from keeper.cli.tax_context import load_tax_context
from keeper.core.drift import compute_drift
from keeper.core.plan import apply_plan
from keeper.core.planner import decide
from keeper.core.spec import Band, Cadence, VenueKind
from keeper.core.strategies import RunContext
from keeper.core.synthetic import A, H, portfolio, venue
from keeper.core.taxcontext import TaxContext
from keeper.tax import AssetKind, HarvestSettings, Lot, LotPolicy, RealisedGain, TaxCategory
from keeper.tax.jurisdictions import de_profile, us_profile

D = Decimal
REPO = Path(__file__).resolve().parents[2]
SEED000 = REPO / "examples" / "tax" / "keeper.yaml"
ASSESSMENT_DAY = calendar.timegm(datetime(2024, 11, 15, 12, tzinfo=UTC).timetuple())
US = us_profile()


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def unix(day: str) -> int:
    return calendar.timegm(at(day).timetuple())


def seed000(now: int = ASSESSMENT_DAY):
    loaded = load_and_read(SEED000, None, now)
    tax = load_tax_context(loaded.config, now)
    ctx = RunContext(now, cadence=Cadence.QUARTERLY)
    return loaded, tax, decide(loaded.config.spec, loaded.snapshot, ctx, tax)


# --- seed 000 through the planner ---------------------------------------------------------------


def test_seed000__plan__each_sale_consumes_its_lots_and_carries_its_tax():
    loaded, tax, d = seed000()
    plan = d.plan
    lines = {ln.asset: ln for ln in plan.tax.lines}
    # ARKK (bought 2023-12-20) is short-term on 2024-11-15: 24%; BTC (2022) long-term: 15%
    arkk, btc = lines["ARKK"], lines["BTC"]
    assert [m.lot.lot_id for m in arkk.disposal.matches] == ["arkk-1"]
    assert set(arkk.gains) == {TaxCategory.SHORT_TERM}
    assert set(btc.gains) == {TaxCategory.LONG_TERM}
    assert arkk.disposal.gain > 0 and btc.disposal.gain > 0
    # the lines are marginal in step order; BTC comes first, so it is taxed alone at 15%
    assert btc.tax == btc.disposal.gain * D("0.15")
    assert arkk.tax == arkk.disposal.gain * D("0.24")
    # every taxed trade carries its tax in USD, and the plan's cost includes it
    by_step = {t.step: t for t in plan.trades}
    for ln in plan.tax.lines:
        assert by_step[ln.step].tax_usd == ln.tax
    assert plan.expected_cost_usd == plan.execution_cost_usd + sum(
        (t.tax_usd or D(0) for t in plan.trades), D(0)
    )
    # the plan's joint estimate (keeper.tax.plan_tax_impact) agrees with the sum of the lines
    assert plan.tax.impact.tax == plan.tax.tax
    # cash sales (USD, USDC) are not taxed
    assert all(t.tax_usd == 0 for t in plan.trades if t.sell_asset in ("USD", "USDC"))


def test_seed000__plan_sales__never_consume_more_than_a_lot_holds():
    loaded, tax, d = seed000()
    held = {lot.lot_id: lot.quantity_raw for lot in tax.lots}
    used: dict[str, int] = {}
    for ln in d.plan.tax.lines:
        for m in ln.disposal.matches:
            used[m.lot.lot_id] = used.get(m.lot.lot_id, 0) + m.quantity_raw
    assert used and all(used[i] <= held[i] for i in used)


def test_seed000__qqq_sold_at_a_loss_ten_days_ago__its_buy_moved_to_vgt_with_the_reason():
    loaded, tax, _ = seed000()
    loss = RealisedGain(
        "QQQ",
        AssetKind.SECURITY,
        "ibkr:U1",
        5,
        0,
        at("2024-06-01"),
        at("2024-11-05"),
        D(1800),
        D(2000),
        TaxCategory.SHORT_TERM,
        "qqq-0",
    )
    spec, snap = loaded.config.spec, loaded.snapshot
    plain = decide(spec, snap, RunContext(snap.taken_at, cadence=Cadence.QUARTERLY), tax)
    assert plain.goal.move("QQQ").must_buy > 0
    blocked = replace(tax, history=tax.history + (loss,))
    d = decide(spec, snap, RunContext(snap.taken_at, cadence=Cadence.QUARTERLY), blocked)
    assert not any(t.buy_asset == "QQQ" for t in d.plan.trades)
    (note,) = [n for n in d.plan.notes if n.startswith("QQQ: buy")]
    assert "moved to VGT" in note and "wash sale (IRC §1091)" in note and "2024-12-06" in note
    # VGT takes what its band allows ($906); at $475 a share that is under ibkr's $1,000 minimum
    assert d.goal.move("VGT").must_buy > plain.goal.move("VGT").must_buy
    assert d.goal.move("QQQ") is None


def test_seed000__not_taxable__no_context_and_no_tax_on_any_trade(tmp_path):
    text = SEED000.read_text().replace(
        "  jurisdiction: us\n", "  jurisdiction: us\n  taxable: false\n"
    )
    for name in ("seed000-holdings.yaml", "seed000-lots.csv"):
        (tmp_path / name).write_text((SEED000.parent / name).read_text())
    cfg = tmp_path / "keeper.yaml"
    cfg.write_text(text)
    loaded = load_and_read(cfg, None, ASSESSMENT_DAY)
    assert load_tax_context(loaded.config, ASSESSMENT_DAY) is None
    d = decide(
        loaded.config.spec, loaded.snapshot, RunContext(ASSESSMENT_DAY, cadence=Cadence.QUARTERLY)
    )
    assert d.plan.tax is None and all(t.tax_usd is None for t in d.plan.trades)


# --- synthetic treasuries -----------------------------------------------------------------------

NOW = unix("2024-11-15")
CTX = RunContext(NOW, cadence=Cadence.QUARTERLY)


def lot(lot_id, asset, qty, cost, day, *, account="ibkr", kind=AssetKind.SECURITY, decimals=2):
    moment = at(day)
    return Lot(lot_id, asset, kind, account, qty, decimals, D(cost), moment, moment)


def etf_class(qqq_basis: str, vgt_basis: str):
    """QQQ and VGT, one ETF class 13% over its target (a class-driven sale), each in its own
    wide band; USD cash. QQQ's lot is deep in gain, VGT's at a loss."""
    spec, snap = portfolio(
        [
            A("QQQ", "etf", "0.3", band=Band(D("0.2"), D("0.4"))),
            A("VGT", "etf", "0.3", band=Band(D("0.2"), D("0.4"))),
            A("USD", "cash", "0.4", cash=True),
        ],
        [venue("ibkr", VenueKind.BROKER, quote="USD", min_trade="1000")],
        [
            H("QQQ", "ibkr", "34000", "100", 2),
            H("VGT", "ibkr", "34000", "100", 2),
            H("USD", "ibkr", "32000", "1", 2),
        ],
        class_band=Band(D("0.05"), D("0.1")),
        now=NOW,
    )
    lots = (
        lot("qqq-1", "QQQ", 34000, qqq_basis, "2024-05-01"),
        lot("vgt-1", "VGT", 34000, vgt_basis, "2024-05-01"),
    )
    return spec, snap, TaxContext(profile=US, lots=lots)


def test_class_must_sell__one_member_at_a_gain_one_at_a_loss__the_loser_sells_first():
    spec, snap, tax = etf_class(qqq_basis="20000", vgt_basis="40000")
    blind = decide(spec, snap, CTX).plan
    assert {t.sell_asset for t in blind.trades} == {"QQQ", "VGT"}  # the strategy splits it
    d = decide(spec, snap, CTX, tax)
    sold = {t.sell_asset: t.notional_usd for t in d.plan.trades if t.buy_asset == "USD"}
    assert list(sold) == ["VGT"] and sold["VGT"] == D(8000)
    assert any("defers gains" in n for n in d.plan.notes)
    assert d.plan.tax.tax < 0  # the loss saves tax; QQQ's gain is deferred
    assert d.plan.tax.deferral_saved > 0
    after = compute_drift(spec, apply_plan(snap, d.plan))
    assert not after.asset_class("etf").status.out_of_band
    assert all(not r.status.out_of_band for r in after.assets)


def test_class_must_sell__members_cost_the_same__the_strategy_split_is_kept():
    spec, snap, tax = etf_class(qqq_basis="30000", vgt_basis="30000")
    blind = decide(spec, snap, CTX).plan
    d = decide(spec, snap, CTX, tax)
    assert [(t.sell_asset, t.buy_asset, t.sell_raw) for t in d.plan.trades] == [
        (t.sell_asset, t.buy_asset, t.sell_raw) for t in blind.trades
    ]
    assert d.plan.tax.deferral_saved == 0


@pytest.mark.parametrize(
    "policy,first",
    [(LotPolicy.FIFO, "btc-old"), (LotPolicy.HIFO, "btc-new"), (LotPolicy.TAX_MIN, "btc-new")],
)
def test_sale_lots__chosen_by_the_policy(policy, first):
    spec, snap = portfolio(
        [A("BTC", "c", "0.5"), A("USDC", "cash", "0.5", cash=True)],
        [venue("dex")],
        [H("BTC", "dex", "60000", "60000", 8), H("USDC", "dex", "40000", "1", 6)],
        now=NOW,
    )
    lots = (
        lot(
            "btc-old",
            "BTC",
            50_000_000,
            "10000",
            "2020-01-10",
            kind=AssetKind.CRYPTO,
            decimals=8,
            account="dex",
        ),
        lot(
            "btc-new",
            "BTC",
            50_000_000,
            "35000",
            "2024-10-01",
            kind=AssetKind.CRYPTO,
            decimals=8,
            account="dex",
        ),
    )
    tax = TaxContext(profile=US, lots=lots, policy=policy)
    d = decide(spec, snap, CTX, tax)
    (line,) = d.plan.tax.lines
    assert line.disposal.matches[0].lot.lot_id == first
    taxes = {
        p: decide(spec, snap, CTX, replace(tax, policy=p)).plan.tax.tax
        for p in (LotPolicy.FIFO, LotPolicy.HIFO)
    }
    assert taxes[LotPolicy.HIFO] < taxes[LotPolicy.FIFO]


def test_sale__no_lots_for_the_asset__tax_unknown_with_a_note():
    spec, snap, _ = etf_class("20000", "40000")
    tax = TaxContext(profile=US, lots=())
    d = decide(spec, snap, CTX, tax)
    sells = [t for t in d.plan.trades if t.buy_asset == "USD"]
    assert sells and all(t.tax_usd is None for t in sells)
    assert any("no lots for the sale" in n for n in d.plan.notes)


def test_de_crypto__held_over_a_year_tax_free__under_a_year_taxed_in_eur_converted_to_usd():
    spec, snap = portfolio(
        [A("ETH", "c", "0.5"), A("USDC", "cash", "0.5", cash=True)],
        [venue("dex")],
        [H("ETH", "dex", "60000", "3000", 18), H("USDC", "dex", "40000", "1", 6)],
        now=NOW,
    )
    de = de_profile()
    old = lot(
        "eth-1",
        "ETH",
        20 * 10**18,
        "20000",
        "2022-01-03",
        kind=AssetKind.CRYPTO,
        decimals=18,
        account="dex",
    )
    new = lot(
        "eth-1",
        "ETH",
        20 * 10**18,
        "20000",
        "2024-09-01",
        kind=AssetKind.CRYPTO,
        decimals=18,
        account="dex",
    )
    fx = D("1.1")  # USD per EUR
    exempt = decide(spec, snap, CTX, TaxContext(profile=de, lots=(old,), fx_usd=fx)).plan
    taxed = decide(spec, snap, CTX, TaxContext(profile=de, lots=(new,), fx_usd=fx)).plan
    (sale,) = [t for t in exempt.trades if t.sell_asset == "ETH"]
    assert sale.tax_usd == 0 and exempt.tax.currency == "EUR"
    assert exempt.tax.lines[0].gains.keys() == {TaxCategory.EXEMPT}
    (line,) = taxed.tax.lines
    assert set(line.gains) == {TaxCategory.PRIVATE_SALE}
    # EUR proceeds are the USD proceeds / 1.1; the gain is over the 1,000 EUR Freigrenze: all taxed
    sale_usd = _net(exempt, "ETH")
    assert abs(line.disposal.proceeds - sale_usd / fx) < D("1e-18")
    assert abs(line.tax - line.disposal.gain * D("0.42")) < D("1e-18")
    (sale,) = [t for t in taxed.trades if t.sell_asset == "ETH"]
    assert sale.tax_usd == line.tax * fx and sale_usd > 0


def _net(plan, asset):
    (t,) = [t for t in plan.trades if t.sell_asset == asset]
    return t.notional_usd - t.fee_usd - t.slippage_usd


# --- re-buy rules --------------------------------------------------------------------------------


def _rebuy_case(substitute_value: str = "30000"):
    """QQQ far under target (must buy); VGT (its substitute) around `substitute_value`."""
    return portfolio(
        [
            A("QQQ", "etf", "0.3"),
            A("VGT", "etf", "0.3"),
            A("USD", "cash", "0.4", cash=True),
        ],
        [venue("ibkr", VenueKind.BROKER, quote="USD", min_trade="100")],
        [
            H("QQQ", "ibkr", "24000", "100", 2),
            H("VGT", "ibkr", substitute_value, "100", 2),
            H("USD", "ibkr", str(100000 - 24000 - int(substitute_value)), "1", 2),
        ],
        class_band=Band(D("0.5"), D("1")),
        now=NOW,
    )


QQQ_LOSS = RealisedGain(
    "QQQ",
    AssetKind.SECURITY,
    "ibkr",
    100,
    0,
    at("2024-03-01"),
    at("2024-11-01"),
    D(9000),
    D(10000),
    TaxCategory.SHORT_TERM,
    "qqq-0",
)


def test_rebuy__loss_sale_14_days_ago_no_substitute__buy_blocked_with_the_reason():
    spec, snap = _rebuy_case()
    d = decide(spec, snap, CTX, TaxContext(profile=US, history=(QQQ_LOSS,)))
    assert not any(t.buy_asset == "QQQ" for t in d.plan.trades)
    assert any("QQQ: buy of" in n and "blocked" in n and "2024-12-02" in n for n in d.plan.notes)


def test_rebuy__substitute_with_room__buys_the_substitute_within_its_band():
    spec, snap = _rebuy_case()
    tax = TaxContext(profile=US, history=(QQQ_LOSS,), substitutes={"QQQ": "VGT"})
    d = decide(spec, snap, CTX, tax)
    assert {t.buy_asset for t in d.plan.trades} == {"VGT"}
    after = compute_drift(spec, apply_plan(snap, d.plan))
    assert not after.asset("VGT").status.out_of_band


def test_rebuy__substitute_already_overweight__holds_the_exposure_neither_trades():
    spec, snap = _rebuy_case(substitute_value="36000")  # VGT holds QQQ's missing $6,000
    blind = decide(spec, snap, CTX).plan
    assert {t.buy_asset for t in blind.trades} >= {"QQQ"}
    tax = TaxContext(profile=US, history=(QQQ_LOSS,), substitutes={"QQQ": "VGT"})
    d = decide(spec, snap, CTX, tax)
    assert d.plan.no_action
    assert any("VGT holds its exposure" in n for n in d.plan.notes)


def test_rebuy__loss_sale_31_days_ago__buy_allowed_again():
    spec, snap = _rebuy_case()
    later = replace(QQQ_LOSS, sold_at=at("2024-10-15"))
    d = decide(spec, snap, CTX, TaxContext(profile=US, history=(later,)))
    assert any(t.buy_asset == "QQQ" for t in d.plan.trades)


# --- loss harvesting ------------------------------------------------------------------------------


def _harvest_case(pairing_venue):
    """QQQ and VGT near their targets; QQQ's lot is 20% under water (a HIGH harvest)."""
    spec, snap = portfolio(
        [A("QQQ", "etf", "0.3"), A("VGT", "etf", "0.3"), A("USD", "cash", "0.4", cash=True)],
        [pairing_venue],
        [
            H("QQQ", "v", "30000", "100", 2),
            H("VGT", "v", "30000", "100", 2),
            H("USD", "v", "40000", "1", 2),
        ],
        now=NOW,
    )
    lots = (lot("qqq-1", "QQQ", 30000, "37500", "2024-06-03", account="v"),)
    tax = TaxContext(
        profile=US,
        lots=lots,
        accounts={"v": ("v",)},
        substitutes={"QQQ": "VGT"},
        harvest=HarvestSettings(substitutes={"QQQ": "VGT"}),
    )
    return spec, snap, tax


@pytest.mark.parametrize(
    "v",
    [
        venue("v", VenueKind.BROKER, quote="USD", slippage_bps=5, min_trade="1000"),
        venue("v", VenueKind.CHAIN, fee_bps=5, min_trade="500"),
    ],
    ids=["via_quote", "direct"],
)
def test_harvest__deep_loss_with_substitute__paired_trades_tax_saved_against_cost(v):
    spec, snap, tax = _harvest_case(v)
    assert decide(spec, snap, CTX).plan.no_action  # nothing to rebalance
    d = decide(spec, snap, CTX, tax)
    (pair,) = d.plan.harvests
    assert (pair.asset, pair.substitute, pair.loss) == ("QQQ", "VGT", D(7500))
    # a $7,500 short-term loss, deductible up to $3,000 this year (IRC §1211(b)) at 24%
    assert pair.tax_saved == D(3000) * D("0.24") and pair.tax_saved > pair.trading_cost_usd
    assert pair.rebuy_after == "2024-12-16"
    sells = [t for t in d.plan.trades if t.sell_asset == "QQQ"]
    assert sum(t.sell_raw for t in sells) == 30000
    assert sells[0].tax_usd < 0  # the realised loss saves tax
    assert d.plan.trades[-1].buy_asset == "VGT"
    assert d.plan.tax.harvest_saved > 0
    after = compute_drift(spec, apply_plan(snap, d.plan))
    # the class keeps its exposure (less costs)
    assert abs(after.asset_class("etf").drift_usd) < D(100)


def test_harvest__off__nothing_proposed():
    spec, snap, tax = _harvest_case(venue("v", VenueKind.CHAIN, min_trade="500"))
    d = decide(spec, snap, CTX, replace(tax, harvest=None))
    assert d.plan.no_action and d.plan.harvests == ()


def test_harvest__no_substitute__not_proposed_with_the_reason():
    spec, snap, tax = _harvest_case(venue("v", VenueKind.CHAIN, min_trade="500"))
    d = decide(spec, snap, CTX, replace(tax, substitutes={}, harvest=HarvestSettings()))
    assert d.plan.no_action
    assert any("harvest QQQ on v: not proposed: no substitute" in n for n in d.plan.notes)


def test_seed000_example_lots__same_rows_as_the_tax_fixture():
    """examples/tax/seed000-lots.csv is tests/tax/fixtures/seed000_lots.csv (comments aside), so
    the planner's seed-000 cases and the tax package's run on the same lots."""

    def rows(path: Path) -> list[str]:
        return [x for x in path.read_text().splitlines() if x and not x.startswith("#")]

    fixture = REPO / "tests" / "tax" / "fixtures" / "seed000_lots.csv"
    assert rows(SEED000.parent / "seed000-lots.csv") == rows(fixture)


def test_seed000__december_review__every_harvest_the_signal_raises_is_paired_or_explained():
    loaded, tax, d = seed000(unix("2024-12-02"))
    from keeper.tax.harvest import Priority, harvest_candidates

    when = tax.when(loaded.snapshot)
    prices = {p.asset: p.price_usd for p in loaded.snapshot.positions if p.price_usd is not None}
    signal = harvest_candidates(tax.lots, prices, when, tax.profile, tax.harvest)
    assert signal.december_review
    raised = {c.asset for c in signal.harvest if c.priority in (Priority.HIGH, Priority.MEDIUM)}
    assert raised >= {"SOL", "AVAX", "AAVE", "UNI", "QQQ", "VGT", "BND", "TLT"}
    paired = {p.asset for p in d.plan.harvests}
    explained = {
        n.split()[1] for n in d.plan.notes if n.startswith("harvest ") and "not proposed" in n
    }
    assert raised == paired | explained
    # seed 000's harvestable classes hold only losers: each substitute is being harvested too
    assert any(
        "QQQ on ibkr: not proposed: substitute VGT is being harvested too" in n
        for n in d.plan.notes
    )
