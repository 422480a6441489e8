"""Leg consolidation: buys and sells fragmented under a venue's minimum are moved onto one
counterpart that can carry them, and only what none can carry is dropped."""

from decimal import Decimal
from pathlib import Path

import pytest

from keeper.config import load_config
from keeper.core import planner
from keeper.core.consolidate import pair_greedy
from keeper.core.drift import Status, compute_drift
from keeper.core.plan import apply_plan
from keeper.core.planner import decide
from keeper.core.portfolio import Position, Snapshot
from keeper.core.spec import Band, Cadence, Limits, StrategyKind, StrategySpec, VenueKind
from keeper.core.strategies import RunContext
from keeper.core.synthetic import NOW, A, H, portfolio, venue
from keeper.money import round_usd, to_raw

D = Decimal
CTX = RunContext(NOW, scheduled=True, cadence=Cadence.WEEKLY)
REPO = Path(__file__).resolve().parents[2]

# The devnet demo treasury at its deployment prices (keeper/devnet/demo_treasury.py and
# keeper/devnet/market.py): holding id -> (whole tokens, decimals, USD price).
DEMO = {
    "devnet:WETH": ("12", 18, "3000"),
    "devnet:WBTC": ("0.25", 8, "60000"),
    "devnet:SOL": ("40", 9, "150"),
    "devnet:UNI": ("500", 18, "8"),
    "devnet:USDC": ("8000", 6, "1"),
    "devnet:vault_usdc_a": ("5000", 6, "1"),
    "devnet:vault_usdc_b": ("3000", 6, "1"),
    "devnet:aUSDC": ("6000", 6, "1"),
    "devnet:USDT": ("2000", 6, "1"),
    "devnet:DAI": ("1000", 18, "1"),
    "devnet:vault_dai": ("4000", 18, "1"),
}


def demo_treasury():
    """examples/devnet.yaml (the real config) and a snapshot of the demo treasury."""
    spec = load_config(REPO / "examples" / "devnet.yaml").spec
    positions = []
    for h in spec.holdings:
        tokens, decimals, price = DEMO[h.id]
        positions.append(
            Position.read(
                holding=h.id,
                asset=h.asset,
                venue=h.venue,
                kind=h.kind,
                raw=to_raw(D(tokens), decimals),
                decimals=decimals,
                price_usd=D(price),
                price_source="devnet feed",
                price_time=NOW,
                now=NOW,
                max_age_s=3600,
            )
        )
    return spec, Snapshot(tuple(positions), NOW)


def test_demo_treasury__flow_alone__fragments_the_uni_buy_under_the_minimum():
    """The precondition of the regression below: paired naively, UNI's $1,400 buy comes from
    three sources, each at or below the devnet's $500 minimum."""
    spec, snap = demo_treasury()
    d = decide(spec, snap, CTX)
    book = planner._Book(spec, snap, d.goal)
    sells, buys = planner._match(book, d.goal)
    legs = pair_greedy(sells["devnet"], buys["devnet"])
    uni = {s: D(x) / 10**6 for (s, b), x in legs.items() if b == "UNI"}
    assert uni == {"ETH": D(500), "DAI": D(500), "USDC": D(400)}


def test_demo_treasury__uni_buy_fragmented__one_leg_from_overweight_eth_nothing_dropped():
    spec, snap = demo_treasury()
    d = decide(spec, snap, CTX)
    plan = d.plan
    uni = [t for t in plan.trades if t.buy_asset == "UNI"]
    assert [(t.sell_asset, round_usd(t.notional_usd)) for t in uni] == [("ETH", D(1400))]
    assert plan.dropped == () and plan.shortfalls == ()
    assert len(plan.trades) == 4  # ETH -> BTC, SOL, USDT, UNI: one leg per buyer
    after = compute_drift(spec, apply_plan(snap, plan))
    assert all(r.status is Status.WITHIN for r in after.assets), [
        (r.name, r.status) for r in after.assets if r.status is not Status.WITHIN
    ]
    # ETH crossed its target to carry the buy, and stayed within 0.9 of its soft band
    eth = after.asset("ETH")
    assert eth.drift_usd < 0 and abs(eth.drift_usd) <= D("0.9") * eth.soft_usd


def test_demo_treasury__without_consolidation__uni_pieces_are_dropped(monkeypatch):
    """The same plan with the repair switched off: the regression the test above pins."""
    monkeypatch.setattr(planner, "consolidate_direct", lambda *a, **k: 0)
    spec, snap = demo_treasury()
    plan = decide(spec, snap, CTX).plan
    assert {(x.sell_asset, x.buy_asset) for x in plan.dropped} >= {("USDC", "UNI")}
    assert any(s.asset == "UNI" for s in plan.shortfalls)


def _plan(assets, venues, holdings, **kw):
    spec, snap = portfolio(assets, venues, holdings, **kw)
    return spec, snap, decide(spec, snap, CTX)


def test_fragmented_buy__no_seller_can_carry_it__dropped_with_the_minimum_as_reason():
    # X must buy $5,000 on a venue with a $3,000 minimum; Y and Z must sell $2,500 each and no
    # more (a 0.1% soft band leaves no room to cross the target), so no one carries it whole.
    tight = Band(D("0.001"), D("0.002"))
    spec, snap, d = _plan(
        [A("X", "c", "0.4"), A("Y", "c", "0.3", band=tight), A("Z", "c", "0.3", band=tight)],
        [venue("dex", min_trade="3000")],
        [H("X", "dex", "35000"), H("Y", "dex", "32500"), H("Z", "dex", "32500")],
    )
    assert d.goal.move("X").must_buy == D(5000)
    assert d.plan.no_action
    assert {(x.sell_asset, x.buy_asset) for x in d.plan.dropped} == {("Y", "X"), ("Z", "X")}
    assert all("minimum trade of $3,000" in x.reason for x in d.plan.dropped)


def test_fragmented_sell__one_underweight_buyer_takes_the_whole_sale():
    # ETH must sell $1,500; it would go $500 each to three assets a little under target, under
    # the $1,000 minimum; SOL has room to take all of it within its band.
    spec, snap, d = _plan(
        [
            A("ETH", "c", "0.25"),
            A("SOL", "c", "0.25"),
            A("UNI", "c", "0.25"),
            A("AAVE", "c", "0.25"),
        ],
        [venue("dex", min_trade="1000")],
        [
            H("ETH", "dex", "26500"),
            H("SOL", "dex", "24500"),
            H("UNI", "dex", "24500"),
            H("AAVE", "dex", "24500"),
        ],
        band=Band(D("0.05"), D("0.1")),
    )
    assert d.goal.move("ETH").must_sell == D(1500)
    (t,) = d.plan.trades
    assert (t.sell_asset, t.buy_asset, t.notional_usd) == ("ETH", "AAVE", D(1500))
    assert d.plan.dropped == ()


def test_fragmented_buy__cash_reserve_binds__cash_does_not_carry_it():
    # UNI must buy $1,400 from pieces of $700 (X), $600 (Y) and $100 (USDC), each under the
    # $1,000 minimum. X and Y cannot cross their targets (0.1% bands); USDC could, but the cash
    # reserve leaves only $1,000 of cash to spend: nothing carries $1,400, so it is dropped.
    tight = Band(D("0.001"), D("0.002"))
    spec, snap, d = _plan(
        [
            A("UNI", "defi", "0.1"),
            A("X", "c", "0.2", band=tight),
            A("Y", "c", "0.2", band=tight),
            A("USDC", "cash", "0.5", cash=True),
        ],
        [venue("dex", min_trade="1000")],
        [
            H("UNI", "dex", "8600"),
            H("X", "dex", "20700"),
            H("Y", "dex", "20600"),
            H("USDC", "dex", "50100"),
        ],
        limits=Limits(cash_reserve_usd=D(49_100)),
    )
    assert d.goal.move("UNI").must_buy == D(1400)
    assert not any(t.buy_asset == "UNI" for t in d.plan.trades)
    assert {x.sell_asset for x in d.plan.dropped if x.buy_asset == "UNI"} == {"X", "Y", "USDC"}
    cash_after = apply_plan(snap, d.plan).position("dex:USDC").value_usd
    assert cash_after >= D(49_100)


def test_cash_flow__consolidation__never_takes_cash_past_its_target():
    spec, snap, d = _plan(
        [A("BTC", "c", "0.45"), A("ETH", "c", "0.45"), A("USDC", "cash", "0.1", cash=True)],
        [venue("dex", min_trade="1000")],
        [H("BTC", "dex", "44000"), H("ETH", "dex", "44000"), H("USDC", "dex", "12000")],
        strategy=StrategySpec(kind=StrategyKind.CASH_FLOW),
    )
    after = compute_drift(spec, apply_plan(snap, d.plan))
    assert after.asset("USDC").drift_usd >= -D("0.01")
    assert {t.sell_asset for t in d.plan.trades} <= {"USDC"}


def test_via_quote__sale_under_the_minimum__moved_onto_another_seller_funds_kept():
    # On a CEX with a $500 minimum, BTC must sell $4,000 and SOL (overweight, in band) may give
    # $300: the flow uses both to fund ETH's $4,300. SOL's $300 sale moves onto BTC.
    cex = venue("cex", VenueKind.CEX, quote="USDT", min_trade="500")
    spec, snap, d = _plan(
        [
            A("BTC", "c", "0.3"),
            A("ETH", "c", "0.3"),
            A("SOL", "c", "0.1", band=Band(D("0.2"), D("0.4"))),
            A("USDT", "cash", "0.3", cash=True),
        ],
        [cex],
        [
            H("BTC", "cex", "34000", "60000", 8),
            H("ETH", "cex", "25700", "3000", 8),
            H("SOL", "cex", "10300", "150", 8),
            H("USDT", "cex", "30000", "1", 8),
        ],
    )
    sold = {t.sell_asset: round(t.notional_usd) for t in d.plan.trades if t.buy_asset == "USDT"}
    assert sold == {"BTC": 4300}
    assert d.plan.dropped == ()
    (buy,) = [t for t in d.plan.trades if t.buy_asset == "ETH"]
    assert round(buy.notional_usd) == 4300


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scaled_treasury__plan__one_leg_per_pair_per_venue(seed):
    from keeper.core.synthetic import scaled

    spec, snap = scaled(120, 4, seed=seed)
    plan = decide(spec, snap, RunContext(NOW, cadence=Cadence.QUARTERLY)).plan
    keys = [(t.venue, t.sell_holding, t.buy_holding) for t in plan.trades]
    assert len(keys) == len(set(keys))


def test_via_quote__funds_split_over_small_buys__given_to_fewer_buys_that_clear_the_minimum():
    # A broker with seed 000's $1,000 ETF minimum. SOXX and ARKK must each sell $1,066 (past
    # their hard limit); QQQ and VGT may absorb $737 each, BND and TLT $368: shared out, every
    # buy is under $1,000, nothing would be bought and the sales would be cut to nothing. Settled:
    # the two larger needs are raised to the minimum within their bands and share the funds.
    etf = Band(D("0.05"), D("0.1"))
    broker = venue("ibkr", VenueKind.BROKER, quote="USD", slippage_bps=5, min_trade="1000")
    targets = {"QQQ": 20, "VGT": 20, "SOXX": 5, "ARKK": 5, "BND": 10, "TLT": 10, "USD": 6}
    held = {"QQQ": 19, "VGT": 19, "SOXX": 6, "ARKK": 6, "BND": "9.5", "TLT": "9.5", "USD": 6}
    spec, snap, d = _plan(
        [
            A(a, "cash" if a == "USD" else a, D(t) / 76, band=etf, cash=a == "USD")
            for a, t in targets.items()
        ],
        [broker],
        [H(a, "ibkr", D(v) * 1000, "1", 2) for a, v in held.items()],
        limits=Limits(cash_reserve_usd=D(5_900)),
    )
    assert {m.asset for m in d.goal.moves if m.must_buy} == set()
    sold = {t.sell_asset: round(t.notional_usd) for t in d.plan.trades if t.buy_asset == "USD"}
    bought = {t.buy_asset: round(t.notional_usd) for t in d.plan.trades if t.sell_asset == "USD"}
    assert sold == {"ARKK": 1066, "SOXX": 1066}
    assert set(bought) == {"QQQ", "VGT"} and all(x >= 1000 for x in bought.values())
    assert {x.buy_asset for x in d.plan.dropped} == {"BND", "TLT"}
    after = compute_drift(spec, apply_plan(snap, d.plan))
    assert all(r.status is Status.WITHIN for r in after.assets)
