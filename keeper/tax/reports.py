"""Tax reports: the year's realised gains by category, Form 8949 rows, and seed 000's tables.

This module owns turning results into rows a person (or the IRS) reads:

- `year_report`: realised gains of a tax year by category (short/long-term, private sales,
  exempt, ...), wash-sale adjustments, and the estimated tax under the profile.
- `form_8949_rows` / `form_8949_csv`: one row per lot sold in the shape of Form 8949 (US only):
  (a) description, (b) date acquired, (c) date sold, (d) proceeds, (e) cost basis, (f) code,
  (g) adjustment, (h) gain or loss = d - e + g; a wash sale is code W with the disallowed loss
  as a positive adjustment (Instructions for Form 8949). Part I is short-term, Part II long-term.
  The Box (A-L) depends on the broker's 1099-B/1099-DA, which the lots history does not record:
  the operator picks it when filing.
- `assessment`: seed 000's "Tax Impact Assessment": cost basis against current value per asset
  class, with the priority each class gets from the harvesting signal.

It returns plain values; rendering (rich tables, files) belongs to the CLI.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from keeper.errors import ConfigError
from keeper.money import MONEY_CONTEXT, ZERO, round_usd
from keeper.tax.estimate import tax_for_year
from keeper.tax.harvest import (
    PRIORITY_ORDER,
    HarvestSettings,
    HarvestSignal,
    Priority,
    harvest_candidates,
)
from keeper.tax.jurisdictions import TaxProfile
from keeper.tax.model import Lot, RealisedGain, TaxCategory


@dataclass(frozen=True, slots=True)
class CategoryTotal:
    category: TaxCategory
    count: int
    proceeds: Decimal
    cost_basis: Decimal
    wash_disallowed: Decimal
    gain: Decimal


@dataclass(frozen=True)
class YearReport:
    profile: str
    currency: str
    tax_year: int
    period: tuple[str, str]  # first and last day, ISO dates
    categories: tuple[CategoryTotal, ...]
    net_gain: Decimal
    wash_disallowed: Decimal
    estimated_tax: Decimal
    lines: tuple[RealisedGain, ...]


def year_report(realised: Iterable[RealisedGain], profile: TaxProfile, tax_year: int) -> YearReport:
    """Realised gains of `tax_year` by category, and the tax they owe under `profile`."""
    lines = tuple(r for r in realised if profile.tax_year(r.sold_at) == tax_year)
    acc: dict[TaxCategory, list] = defaultdict(lambda: [0, ZERO, ZERO, ZERO, ZERO])
    for r in lines:
        a = acc[r.category]
        a[0] += 1
        a[1] += r.proceeds
        a[2] += r.cost_basis
        a[3] += r.wash_disallowed
        a[4] += r.gain
    categories = tuple(
        CategoryTotal(c, a[0], a[1], a[2], a[3], a[4])
        for c, a in sorted(acc.items(), key=lambda kv: kv[0].value)
    )
    totals = {c.category: c.gain for c in categories}
    start, end = profile.tax_year_bounds(tax_year)
    return YearReport(
        profile=profile.code,
        currency=profile.currency,
        tax_year=tax_year,
        period=(start.isoformat(), end.isoformat()),
        categories=categories,
        net_gain=sum((c.gain for c in categories), ZERO),
        wash_disallowed=sum((c.wash_disallowed for c in categories), ZERO),
        estimated_tax=tax_for_year(totals, profile, tax_year),
        lines=lines,
    )


@dataclass(frozen=True, slots=True)
class Form8949Row:
    part: str  # "I" short-term, "II" long-term
    description: str  # (a)
    date_acquired: str  # (b) MM/DD/YYYY or VARIOUS
    date_sold: str  # (c)
    proceeds: Decimal  # (d)
    cost_basis: Decimal  # (e)
    code: str  # (f)
    adjustment: Decimal  # (g)
    gain: Decimal  # (h) = d - e + g


FORM_8949_COLUMNS = (
    "part",
    "description",
    "date_acquired",
    "date_sold",
    "proceeds",
    "cost_basis",
    "code",
    "adjustment",
    "gain_or_loss",
)


def form_8949_rows(
    realised: Iterable[RealisedGain], profile: TaxProfile, tax_year: int
) -> list[Form8949Row]:
    """Form 8949 rows for the US profile, Part I then Part II, each by date sold."""
    if profile.code != "US":
        raise ConfigError(
            f"Form 8949 is a US form; the profile is {profile.code}: use --jurisdiction us"
        )
    rows: list[Form8949Row] = []
    for r in realised:
        if profile.tax_year(r.sold_at) != tax_year:
            continue
        part = "I" if r.category is TaxCategory.SHORT_TERM else "II"
        d, e, g = round_usd(r.proceeds), round_usd(r.cost_basis), round_usd(r.wash_disallowed)
        rows.append(
            Form8949Row(
                part=part,
                description=f"{r.tokens.normalize():f} {r.asset}",
                date_acquired=_us_date(r.acquired_at, profile) if r.acquired_at else "VARIOUS",
                date_sold=_us_date(r.sold_at, profile),
                proceeds=d,
                cost_basis=e,
                code="W" if g > 0 else "",
                adjustment=g,
                gain=d - e + g,
            )
        )
    rows.sort(key=lambda row: (row.part, row.date_sold[6:], row.date_sold, row.description))
    return rows


def form_8949_csv(rows: Iterable[Form8949Row]) -> str:
    """The rows as CSV text with a header; money with two decimals, empty cells where none."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FORM_8949_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.part,
                row.description,
                row.date_acquired,
                row.date_sold,
                f"{row.proceeds:.2f}",
                f"{row.cost_basis:.2f}",
                row.code,
                f"{row.adjustment:.2f}" if row.adjustment else "",
                f"{row.gain:.2f}",
            ]
        )
    return out.getvalue()


def _us_date(moment: datetime, profile: TaxProfile) -> str:
    return profile.local_date(moment).strftime("%m/%d/%Y")


@dataclass(frozen=True, slots=True)
class ClassRow:
    """One line of seed 000's "Cost Basis vs Current Price" table, with its priority."""

    asset_class: str
    cost_basis: Decimal
    value: Decimal
    gain: Decimal
    gain_pct: Decimal  # percent, one decimal place
    action: str  # "harvest" | "hold" | "regular"
    priority: Priority
    assets: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    rows: tuple[ClassRow, ...]
    signal: HarvestSignal


def assessment(
    lots: Iterable[Lot],
    prices: Mapping[str, Decimal],
    classes: Mapping[str, str],
    when: datetime,
    profile: TaxProfile,
    settings: HarvestSettings | None = None,
    *,
    ytd: Mapping[TaxCategory, Decimal] | None = None,
) -> Assessment:
    """Seed 000's tax table: basis vs value per class (`classes` maps asset -> class name) and
    each class's priority: harvest when a member has a HIGH harvest, hold when a member's gains
    should wait, else regular (a shallow harvest stays optional)."""
    held = list(lots)
    signal = harvest_candidates(held, prices, when, profile, settings, ytd=ytd)
    sums: dict[str, list] = defaultdict(lambda: [ZERO, ZERO, set()])
    for lot in held:
        name = classes.get(lot.asset, lot.asset)
        price = prices.get(lot.asset)
        if price is None:
            raise ConfigError(f"no price for {lot.asset}: pass one for every asset held")
        sums[name][0] += lot.cost_basis
        sums[name][1] += lot.value(price)
        sums[name][2].add(lot.asset)
    harvest = {c.asset: c for c in signal.harvest}
    holds = {h.asset for h in signal.hold}
    rows: list[ClassRow] = []
    for name, (basis, value, assets) in sums.items():
        members = sorted(assets)
        best = min(
            (harvest[a].priority for a in members if a in harvest),
            key=PRIORITY_ORDER.get,
            default=None,
        )
        if best is Priority.HIGH:
            action, priority = "harvest", Priority.HIGH
        elif any(a in holds for a in members):
            action, priority = "hold", Priority.MEDIUM
        elif best is Priority.MEDIUM:
            action, priority = "harvest", Priority.MEDIUM
        else:
            action, priority = "regular", Priority.LOW
        with localcontext(MONEY_CONTEXT):
            pct = (
                ((value - basis) * 100 / basis).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
                if basis
                else ZERO
            )
        rows.append(
            ClassRow(name, basis, value, value - basis, pct, action, priority, tuple(members))
        )
    rows.sort(key=lambda r: (PRIORITY_ORDER[r.priority], r.asset_class))
    return Assessment(rows=tuple(rows), signal=signal)
