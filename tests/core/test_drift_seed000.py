"""Seed 000's own numbers: its tier tables and its drift monitor, through the real config loader,
the static reader and the drift code.

The seed's tables give targets and bands ("BTC: $20,000 +-10% ($2,000); rebalance at $22,000").
A band edge is the last value still inside: the status there is "approaching" and one cent past
it is "soft limit exceeded" (see keeper.core.drift). Portfolios are held at the seed's $100,000
total by moving the difference into a counterweight asset.
"""

import functools
from decimal import Decimal

import pytest

from keeper.config import load_config_text
from keeper.core.drift import Priority, Status, compute_drift
from keeper.venues.base import read_snapshot
from keeper.venues.static import StaticFile, StaticReader

NOW = 1_717_405_200


def _asset(name, target, band=None):
    b = f", band: {{soft: {band[0]}, hard: {band[1]}}}" if band else ""
    return f"      {name}: {{target: '{target}'{b}, holdings: [{{venue: book, symbol: {name}}}]}}\n"


def _config(classes: dict) -> str:
    """classes: key -> (label, class band, cash?, [(asset, target, asset band)])."""
    text = (
        "treasury: {name: seed 000}\n"
        "venues: {book: {kind: broker, broker: alpaca, quote: CASH, min_trade: $0}}\n"
        "classes:\n"
    )
    for key, (label, band, cash, assets) in classes.items():
        text += f"  {key}:\n    label: {label}\n    cash: {str(cash).lower()}\n"
        text += f"    band: {{soft: {band[0]}, hard: {band[1]}}}\n    assets:\n"
        for a in assets:
            text += _asset(*a)
    return text


TIER1 = _config(
    {
        "etfs": ("ETFs", ("5%", "10%"), False, [("ETF", "$30,000")]),
        "crypto": ("Crypto", ("5%", "10%"), False, [("CRYPTO", "$40,000")]),
        "defi": ("DeFi", ("3%", "6%"), False, [("DEFI", "$15,000")]),
        "cash": ("Cash", ("3%", "6%"), True, [("CASH", "$15,000")]),
    }
)

TIER2 = _config(
    {
        "etf_core": (
            "ETF core",
            ("50%", "90%"),
            False,
            [("VGT", "$10,000", ("10%", "20%")), ("QQQ", "$10,000", ("10%", "20%"))],
        ),
        "etf_special": (
            "ETF special",
            ("50%", "90%"),
            False,
            [("SOXX", "$5,000", ("15%", "30%")), ("ARKK", "$5,000", ("15%", "30%"))],
        ),
        "crypto": (
            "Crypto",
            ("50%", "90%"),
            False,
            [("BTC", "$20,000", ("10%", "20%")), ("ETH", "$10,000", ("10%", "20%"))],
        ),
        "alt_l1": (
            "Alt L1s",
            ("15%", "30%"),
            False,
            [
                ("SOL", "$3,000", ("20%", "40%")),
                ("AVAX", "$3,000", ("20%", "40%")),
                ("DOT", "$2,000", ("20%", "40%")),
            ],
        ),
        "defi": (
            "DeFi",
            ("50%", "90%"),
            False,
            [
                ("LENDING", "$7,500", ("10%", "20%")),
                ("LIQUIDITY", "$4,500", ("15%", "30%")),
                ("FARMING", "$3,000", ("20%", "40%")),
            ],
        ),
        "cash": ("Cash", ("90%", "99%"), True, [("CASH", "$17,000", ("90%", "99%"))]),
    }
)


@functools.cache
def _spec(config_text: str):
    return load_config_text(config_text, "seed000.yaml").spec


def _drift(config_text: str, values: dict[str, Decimal]):
    spec = _spec(config_text)
    targets = {a.name: a.target * 100_000 for a in spec.assets}
    held = {**targets, **values}
    held["CASH"] = Decimal(100_000) - sum(v for k, v in held.items() if k != "CASH")
    static = StaticFile.parse(
        {
            "prices": {a: "1" for a in held},
            "positions": {f"book:{a}": {"amount": str(v), "decimals": 2} for a, v in held.items()},
        },
        "seed000-holdings",
    )
    snap, _ = read_snapshot([StaticReader("book", static)], spec, NOW)
    report = compute_drift(spec, snap)
    assert report.total_usd == 100_000
    return report


TIER1_TRIGGERS = [
    # seed 000, "Trigger Points": rebalance if ETFs > $31,500 or < $28,500 ...
    ("etfs", "ETF", "31500", "28500"),
    ("crypto", "CRYPTO", "42000", "38000"),
    ("defi", "DEFI", "15450", "14550"),
]


@pytest.mark.parametrize("cls,asset,upper,lower", TIER1_TRIGGERS)
def test_tier1_trigger_points__at_and_past_the_edge__approaching_then_soft(
    cls, asset, upper, lower
):
    cent = Decimal("0.01")
    for edge, past in (
        (Decimal(upper), Decimal(upper) + cent),
        (Decimal(lower), Decimal(lower) - cent),
    ):
        assert _drift(TIER1, {asset: edge}).asset_class(cls).status is Status.APPROACHING
        row = _drift(TIER1, {asset: past}).asset_class(cls)
        assert row.status is Status.SOFT
        assert row.priority is Priority.HIGH


def test_tier1_cash__target_15k_band_3pct__soft_width_is_450():
    row = _drift(TIER1, {}).asset_class("cash")
    assert row.soft_usd == Decimal(450)


TIER2_TRIGGERS = [
    # (row kind, name, asset moved, upper trigger, lower trigger = seed's minimum position)
    ("asset", "VGT", "VGT", "11000", "9000"),  # $10,000 +-10%, rebalance when it exceeds $11,000
    ("asset", "QQQ", "QQQ", "11000", "9000"),
    ("asset", "SOXX", "SOXX", "5750", "4250"),  # $5,000 +-15%, minimum position $4,250
    ("asset", "ARKK", "ARKK", "5750", "4250"),
    ("asset", "BTC", "BTC", "22000", "18000"),  # rebalance at $22,000 BTC; minimum $18,000
    ("asset", "ETH", "ETH", "11000", "9000"),
    ("asset", "SOL", "SOL", "3600", "2400"),  # individual L1 $3,000 +-20%: rebalance above $3,600
    (
        "class",
        "alt_l1",
        "SOL",
        "4200",
        "1800",
    ),  # total L1s $8,000 +-15% (+-$1,200): $9,200 / $6,800
    ("asset", "LENDING", "LENDING", "8250", "6750"),  # lending $7,500 +-10% ($750)
    ("asset", "LIQUIDITY", "LIQUIDITY", "5175", "3825"),  # liquidity $4,500 +-15% ($675)
    ("asset", "FARMING", "FARMING", "3600", "2400"),  # yield farming $3,000 +-20% ($600)
]


@pytest.mark.parametrize("kind,name,moved,upper,lower", TIER2_TRIGGERS)
def test_tier2_tables__at_and_past_the_edge__approaching_then_soft(kind, name, moved, upper, lower):
    cent = Decimal("0.01")
    for edge, past in (
        (Decimal(upper), Decimal(upper) + cent),
        (Decimal(lower), Decimal(lower) - cent),
    ):
        at = _drift(TIER2, {moved: edge})
        beyond = _drift(TIER2, {moved: past})
        row_at = at.asset(name) if kind == "asset" else at.asset_class(name)
        row_past = beyond.asset(name) if kind == "asset" else beyond.asset_class(name)
        assert row_at.status is Status.APPROACHING, (name, edge)
        assert row_past.status is Status.SOFT, (name, past)


def test_tier2_btc__past_twice_the_band__hard_and_critical():
    row = _drift(TIER2, {"BTC": Decimal("24000.01")}).asset("BTC")
    assert row.status is Status.HARD
    assert row.priority is Priority.CRITICAL
    assert row.drift_usd == Decimal("4000.01")


def test_tier2_btc__below_90pct_of_band__within_and_low():
    row = _drift(TIER2, {"BTC": Decimal("21800")}).asset("BTC")  # $1,800 = 90% of $2,000
    assert row.status is Status.WITHIN
    assert row.priority is Priority.LOW
    assert _drift(TIER2, {"BTC": Decimal("21800.01")}).asset("BTC").status is Status.APPROACHING


# --- the drift monitor ---------------------------------------------------------------------
#
# Seed 000's "Portfolio Drift Monitor" lists targets and currents but not the bands it used, and
# its threshold chart (ETFs +-5%) contradicts it (ETF Core at -2pp of 40% would be *at* a 5%
# band yet the seed does not flag it). These relative bands reproduce every status it shows:
# ETF Core +-10%, ETF Sector +-20%, BTC/ETH +-10% (the seed's crypto band), Alt L1 +-20% (the
# seed's individual L1 band), DeFi +-30%, Fixed Inc +-10%; hard limits are twice the soft ones.

MONITOR = _config(
    {
        "etf_core": ("ETF Core", ("10%", "20%"), False, [("CORE", "40%")]),
        "etf_sector": ("ETF Sector", ("20%", "40%"), False, [("SECTOR", "10%")]),
        "btc_eth": ("BTC/ETH", ("10%", "20%"), False, [("BTCETH", "20%")]),
        "alt_l1": ("Alt L1", ("20%", "40%"), False, [("ALT", "6%")]),
        "defi": ("DeFi", ("30%", "60%"), False, [("DEFI", "4%")]),
        "fixed": ("Fixed Inc", ("10%", "20%"), True, [("CASH", "20%")]),
    }
)


def test_drift_monitor__seed_000_table__drifts_statuses_and_timeline():
    report = _drift(
        MONITOR,
        {
            "CORE": Decimal(38_000),
            "SECTOR": Decimal(12_000),
            "BTCETH": Decimal(23_000),
            "ALT": Decimal(5_000),
            "DEFI": Decimal(3_000),
        },
    )
    drift_pp = {r.label: r.drift_pp * 100 for r in report.classes}
    assert drift_pp == {
        "ETF Core": -2,
        "ETF Sector": 2,
        "BTC/ETH": 3,
        "Alt L1": -1,
        "DeFi": -1,
        "Fixed Inc": -1,
    }
    status = {r.label: r.status for r in report.classes}
    assert status["BTC/ETH"] is Status.SOFT
    assert status["ETF Sector"] is Status.APPROACHING
    assert {status[k] for k in ("ETF Core", "Alt L1", "DeFi", "Fixed Inc")} == {Status.WITHIN}
    timeline = report.timeline(report.classes)
    assert timeline[Priority.CRITICAL] == ()  # "Immediate: None required"
    assert timeline[Priority.HIGH] == ("BTC/ETH",)  # "24 Hours: Monitor BTC/ETH drift"
    assert timeline[Priority.MEDIUM] == ("ETF Sector",)  # "1 Week: Review ETF sector weights"
    assert set(timeline[Priority.LOW]) == {"ETF Core", "Alt L1", "DeFi", "Fixed Inc"}
    assert Priority.HIGH.timeline == "24 Hours" and Priority.MEDIUM.timeline == "1 Week"
