"""The tax core on real prices: seed 000's $2,000 a month into QQQ, ARKK, BTC and ETH, 2019-2021,
with quarterly trims, replayed under the US rules (reads ../shared/data/prices; skips without it).

It checks what must hold on any history (conservation, HIFO <= FIFO per disposal) and what the
real 2021 market makes true: ARKK bought through 2021 stood far below cost in December 2021, so
the December review proposes harvesting it with its substitute, while QQQ, up in 2021, offers no
loss to harvest.
"""

from __future__ import annotations

import csv
from datetime import datetime, time
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from tax_helpers import conservation_violations

from keeper.money import to_decimal, to_raw
from keeper.tax.harvest import HarvestSettings, Priority, harvest_candidates
from keeper.tax.jurisdictions import us_profile
from keeper.tax.ledger import Acquisition, Sale, replay
from keeper.tax.model import AssetKind, LotPolicy
from keeper.tax.selection import lots_by_asset, select_lots

US = us_profile()
NY = ZoneInfo("America/New_York")
ASSETS = {  # asset: (file, column, kind, decimals)
    "QQQ": ("etf_daily_adjclose_usd.csv", "QQQ", AssetKind.SECURITY, 6),
    "ARKK": ("etf_daily_adjclose_usd.csv", "ARKK", AssetKind.SECURITY, 6),
    "BTC": ("crypto_daily_close_usd.csv", "BTC-USD", AssetKind.CRYPTO, 8),
    "ETH": ("crypto_daily_close_usd.csv", "ETH-USD", AssetKind.CRYPTO, 8),
}
MONTHLY = Decimal(500)  # per asset: seed 000's "$2,000 monthly" over four assets


def load(prices_dir) -> dict[str, dict[str, Decimal]]:
    """date -> asset -> close, for the days the ETF market was open (crypto sampled there)."""
    tables: dict[str, dict[str, dict[str, str]]] = {}
    for file in {f for f, *_ in ASSETS.values()}:
        with open(prices_dir / file, newline="") as handle:
            tables[file] = {row["Date"]: row for row in csv.DictReader(handle)}
    etf_days = sorted(
        d for d in tables["etf_daily_adjclose_usd.csv"] if "2019-01-01" <= d <= "2021-12-31"
    )
    closes: dict[str, dict[str, Decimal]] = {}
    for day in etf_days:
        row = {}
        for asset, (file, column, _, _) in ASSETS.items():
            cell = tables[file].get(day, {}).get(column, "")
            if cell:
                row[asset] = Decimal(cell)  # exact from the text, never via float
        if len(row) == len(ASSETS):
            closes[day] = row
    return closes


def at_close(day: str) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), time(16, 0), tzinfo=NY)


def history(closes: dict[str, dict[str, Decimal]]):
    events = []
    held: dict[str, int] = {a: 0 for a in ASSETS}
    months_seen: set[str] = set()
    for day, row in closes.items():
        month = day[:7]
        if month not in months_seen:  # first trading day of each month: buy
            months_seen.add(month)
            for asset, (_, _, kind, decimals) in ASSETS.items():
                qty = to_raw(MONTHLY / row[asset], decimals, rounding=ROUND_DOWN)
                cost = to_decimal(qty, decimals) * row[asset]
                events.append(
                    Acquisition(
                        f"{asset}-{day}", at_close(day), asset, kind, "broker", qty, decimals, cost
                    )
                )
                held[asset] += qty
        if month[5:] in ("03", "06", "09", "12") and day == max(
            d for d in closes if d.startswith(month)
        ):
            for asset, (_, _, kind, decimals) in ASSETS.items():  # quarter end: trim 10%
                qty = held[asset] // 10
                proceeds = to_decimal(qty, decimals) * row[asset]
                events.append(
                    Sale(
                        f"trim-{asset}-{day}",
                        at_close(day),
                        asset,
                        kind,
                        "broker",
                        qty,
                        decimals,
                        proceeds,
                    )
                )
                held[asset] -= qty
    return events


def test_real_prices__three_years_of_contributions__conserved_and_hifo_not_above_fifo(
    shared_prices,
):
    closes = load(shared_prices)
    events = history(closes)
    for policy in (None, LotPolicy.HIFO, LotPolicy.TAX_MIN):
        result = replay(events, US, policy=policy)
        assert conservation_violations(events, result) == []
    book = lots_by_asset(replay(events, US).lots)
    last = closes[max(closes)]
    for asset, held in book.items():
        half = sum(x.quantity_raw for x in held) // 2
        gains = {
            p: select_lots(
                held,
                asset,
                half,
                policy=p,
                profile=US,
                when=at_close("2021-12-31"),
                price=last[asset],
            ).gain
            for p in (LotPolicy.FIFO, LotPolicy.HIFO)
        }
        assert gains[LotPolicy.HIFO] <= gains[LotPolicy.FIFO]


def test_real_prices__december_2021_review__harvest_arkk_with_substitute_not_qqq(shared_prices):
    closes = load(shared_prices)
    events = [e for e in history(closes) if e.at <= at_close("2021-12-15")]
    lots = replay(events, US).lots
    settings = HarvestSettings(substitutes={"ARKK": "SOXX", "QQQ": "VGT"})
    signal = harvest_candidates(lots, closes["2021-12-15"], at_close("2021-12-15"), US, settings)
    assert signal.december_review
    harvest = {c.asset: c for c in signal.harvest}
    assert "ARKK" in harvest and "QQQ" not in harvest
    arkk = harvest["ARKK"]
    assert arkk.loss >= 500 and arkk.priority in (Priority.HIGH, Priority.MEDIUM)
    assert arkk.substitute == "SOXX" and arkk.net_benefit > 0
    # every lot it sells was bought above the 2021-12-15 close, or within the wash-sale window
    close = closes["2021-12-15"]["ARKK"]
    assert all(
        x.unit_cost > close or (at_close("2021-12-15") - x.acquired_at).days <= 30
        for x in arkk.lots
    )
