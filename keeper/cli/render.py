"""rich tables for drift reports and plans, shaped like seed 000's drift monitor and seed 001's
status and preview. Functions here take core values and return renderables; they never decide.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from keeper.core.drift import DriftReport, DriftRow, Priority, Status
from keeper.core.plan import Plan, Trade
from keeper.core.portfolio import Snapshot
from keeper.core.spec import PortfolioSpec
from keeper.money import round_usd, to_decimal

if TYPE_CHECKING:
    from keeper.venues.dryrun import PreviewOrder

_STYLE = {
    Status.WITHIN: "green",
    Status.APPROACHING: "yellow",
    Status.SOFT: "dark_orange",
    Status.HARD: "bold red",
    Status.UNPRICED: "magenta",
}


def usd(value: Decimal | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    v = round_usd(value)
    text = f"${abs(v):,.2f}"
    if signed:
        return ("+" if v > 0 else "-" if v < 0 else "±") + text
    return ("-" if v < 0 else "") + text


def pct(fraction: Decimal | None, signed: bool = False, places: int = 2) -> str:
    if fraction is None:
        return "—"
    v = (fraction * 100).quantize(Decimal(1).scaleb(-places))
    return f"{v:+}%" if signed else f"{v}%"


def bar(row: DriftRow) -> str:
    """Seed 000's drift bar: one block per percentage point of drift, at most ten."""
    d = row.drift_pp
    if d is None:
        return ""
    n = min(int(abs(d) * 100 + Decimal("0.5")), 10)
    return "[" + "█" * n + "]" if n else ""


def status_text(row: DriftRow) -> Text:
    return Text(f"{row.status.marker} {row.status.value}", style=_STYLE[row.status])


def priority_text(p: Priority) -> Text:
    return Text(
        f"{p.marker} {p.label}",
        style={
            Priority.CRITICAL: "bold red",
            Priority.HIGH: "dark_orange",
            Priority.MEDIUM: "yellow",
            Priority.LOW: "green",
        }[p],
    )


def when(unix: int) -> str:
    return datetime.fromtimestamp(unix, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def drift_table(
    report: DriftReport,
    spec: PortfolioSpec,
    order: list[str] | None = None,
    title: str = "Target vs Actual Allocation",
) -> Table:
    """Classes in `order` (the config's order; default: by name), each followed by its assets."""
    t = Table(title=title, title_justify="left", show_lines=False)
    for col, just in (
        ("Asset", "left"),
        ("Target", "right"),
        ("Current", "right"),
        ("Drift", "right"),
        ("", "left"),
        ("Drift $", "right"),
        ("Value", "right"),
        ("Band", "right"),
        ("Status", "left"),
        ("Priority", "left"),
    ):
        t.add_column(col, justify=just, no_wrap=True)
    for name in order or [c.name for c in report.classes]:
        crow = report.asset_class(name)
        t.add_row(*_cells(crow, bold=True), style="bold")
        for name in spec.asset_class(crow.name).assets:
            t.add_row(*_cells(report.asset(name), indent=True))
    t.add_row(
        "Total", pct(Decimal(1)), "", "", "", "", usd(report.total_usd), "", "", "", style="bold"
    )
    return t


def _cells(row: DriftRow, *, bold: bool = False, indent: bool = False) -> list:
    name = ("  " if indent else "") + row.label
    if row.blocked:
        return [
            name,
            pct(row.target),
            "—",
            "—",
            "",
            "—",
            "—",
            row.band.describe(),
            Text(f"? unpriced: {row.reason}", style="magenta"),
            priority_text(row.priority),
        ]
    return [
        name,
        pct(row.target),
        pct(row.current),
        pct(row.drift_pp, signed=True),
        bar(row),
        usd(row.drift_usd, signed=True),
        usd(row.value_usd),
        row.band.describe(),
        status_text(row),
        priority_text(row.priority),
    ]


def timeline_table(report: DriftReport, next_run: str | None) -> Table:
    """Seed 000's action timeline: who needs attention by when."""
    t = Table(title="Action Timeline", title_justify="left", show_header=False)
    t.add_column("When", no_wrap=True)
    t.add_column("What")
    lines = report.timeline()
    for p in (Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM):
        names = lines[p]
        verb = {
            Priority.CRITICAL: "Rebalance now",
            Priority.HIGH: "Act on",
            Priority.MEDIUM: "Review",
        }[p]
        t.add_row(p.timeline, f"{verb}: {', '.join(names)}" if names else "None required")
    t.add_row(
        Priority.LOW.timeline + (f" ({next_run})" if next_run else ""), "Regular rebalancing check"
    )
    return t


def trades_table(plan: Plan, venue: str) -> Table:
    t = Table(title=f"Venue {venue}", title_justify="left")
    for col, just in (
        ("#", "right"),
        ("Sell", "right"),
        ("", "left"),
        ("Buy (expected)", "right"),
        ("", "left"),
        ("Notional", "right"),
        ("Fee", "right"),
        ("Slippage", "right"),
        ("Gas", "right"),
        ("Drift removed", "right"),
        ("After", "left"),
    ):
        t.add_column(col, justify=just, no_wrap=True)
    for tr in plan.for_venue(venue):
        t.add_row(
            str(tr.step),
            _amount(tr.sell_raw, tr.sell_decimals),
            tr.sell_asset,
            _amount(tr.buy_raw, tr.buy_decimals),
            tr.buy_asset,
            usd(tr.notional_usd),
            usd(tr.fee_usd),
            usd(tr.slippage_usd),
            usd(tr.gas_usd) if tr.gas_usd is not None else "runner",
            usd(tr.drift_removed_usd),
            _after(tr),
        )
    return t


def _after(tr: Trade) -> str:
    return "after #" + ",".join(map(str, tr.funded_by)) if tr.funded_by else ""


def _amount(raw: int, decimals: int) -> str:
    v = to_decimal(raw, decimals)
    q = Decimal("0.000001") if abs(v) < 1000 else Decimal("0.01")
    return f"{v.quantize(q):,}"


def drift_after_table(before: DriftReport, after: DriftReport, plan: Plan) -> Table:
    touched = {t.sell_asset for t in plan.trades} | {t.buy_asset for t in plan.trades}
    t = Table(title="Drift after the plan (same prices)", title_justify="left")
    for col, just in (
        ("Asset", "left"),
        ("Target", "right"),
        ("Now", "right"),
        ("After", "right"),
        ("Status now", "left"),
        ("Status after", "left"),
    ):
        t.add_column(col, justify=just, no_wrap=True)
    for row in before.assets:
        if row.name not in touched and not row.status.out_of_band:
            continue
        a = after.asset(row.name)
        t.add_row(
            row.label,
            pct(row.target),
            pct(row.drift_pp, signed=True),
            pct(a.drift_pp, signed=True),
            status_text(row),
            status_text(a),
        )
    return t


def positions_table(snapshot: Snapshot) -> Table:
    """Every holding that holds something or could not be valued, venue by venue: chains,
    exchanges and brokers side by side, each with where its price came from."""
    t = Table(title="Holdings by venue", title_justify="left")
    for col, just in (
        ("Venue", "left"),
        ("Holding", "left"),
        ("Amount", "right"),
        ("Price", "right"),
        ("Value", "right"),
        ("Price source", "left"),
    ):
        t.add_column(col, justify=just, no_wrap=col != "Price source")
    shown = [p for p in snapshot.positions if p.raw > 0 or not p.read_ok]
    for p in sorted(shown, key=lambda p: (p.venue, p.holding)):
        if not p.read_ok:
            t.add_row(p.venue, p.holding, "?", "", "", Text(p.unpriced_reason or "", "magenta"))
            continue
        t.add_row(
            p.venue,
            p.holding,
            _amount(p.raw, p.decimals),
            "—" if p.price_usd is None else f"${p.price_usd:,.2f}",
            usd(p.value_usd),
            p.price_source if p.priced else Text(p.unpriced_reason or "", "magenta"),
        )
    return t


def venue_orders_table(venue: str, orders: list[PreviewOrder]) -> Table:
    """The orders a venue would receive (dry run): limit price, slices, notional, fee."""
    t = Table(title=f"Orders on {venue} (dry run: nothing sent)", title_justify="left")
    for col, just in (
        ("#", "right"),
        ("Slice", "right"),
        ("Side", "left"),
        ("Amount", "right"),
        ("Symbol", "left"),
        ("Limit", "right"),
        ("Notional", "right"),
        ("Fee", "right"),
        ("Client id", "left"),
        ("Note", "left"),
    ):
        t.add_column(col, justify=just, no_wrap=col != "Note")
    for o in orders:
        t.add_row(
            str(o.leg_index),
            f"{o.slice_index + 1}/{o.slices}",
            o.side,
            f"{o.amount.normalize():f}",
            o.symbol,
            f"{o.limit_price:,f}" if o.limit_price else "—",
            f"{round_usd(o.notional):,}" if o.notional else "—",
            f"{round_usd(o.fee):,}",
            o.client_id,
            o.note or "",
        )
    return t
