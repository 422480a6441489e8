"""The tax parts of `keeper status` and `keeper rebalance preview`, shaped like seed 000's
"Tax-Aware Rebalancing" block: Cost Basis vs Current Price per class, Tax Optimization
Priority, the harvesting opportunities with the tax saved against the trading cost, and a plan's
Estimated Tax Impact.

Each function prints one section to a rich console; status.py and rebalance.py call them in one
line each. They read values the core computed and decide nothing.
"""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from keeper.cli.render import usd
from keeper.config import LoadedConfig
from keeper.core.plan import Plan
from keeper.core.portfolio import Snapshot
from keeper.core.taxcontext import TaxContext, asset_prices
from keeper.money import ZERO, round_usd
from keeper.tax.harvest import PRIORITY_ORDER
from keeper.tax.reports import assessment

_MARK = {"high": "[HIGH]", "medium": "[MED]", "low": "[LOW]"}
_STYLE = {"high": "bold red", "medium": "yellow", "low": "green"}


def print_tax_status(
    out: Console, cfg: LoadedConfig, snapshot: Snapshot, tax: TaxContext | None
) -> None:
    """Seed 000's tax table and the harvesting signal for the current portfolio."""
    if cfg.model.tax is None:
        return
    if tax is None:
        out.print("[cyan]tax:[/cyan] the treasury is not taxable (tax.taxable: false)")
        return
    if not tax.lots:
        out.print(
            "[cyan]tax:[/cyan] no lots (tax.lots): cost basis, harvesting and plan taxes are not "
            "estimated"
        )
        return
    from keeper.cli.tax_context import harvest_settings

    when = tax.when(snapshot)
    prices = {a: tax.to_ccy(p) for a, p in asset_prices(snapshot).items()}
    lots = [lot for lot in tax.lots if lot.asset in prices]
    unpriced = sorted({lot.asset for lot in tax.lots} - set(prices))
    labels = {a.name: cfg.spec.asset_class(a.asset_class).label for a in cfg.spec.assets}
    result = assessment(
        lots,
        prices,
        {a: labels.get(a, a) for a in prices},
        when,
        tax.profile,
        harvest_settings(cfg.model.tax),
        ytd=tax.ytd(when),
    )
    ccy = tax.profile.currency
    t = Table(title=f"Tax Impact Assessment ({tax.profile.code}, {ccy})", title_justify="left")
    for col, just in (
        ("Asset", "left"),
        ("Entry", "right"),
        ("Current", "right"),
        ("Gain/Loss", "right"),
        ("", "left"),
        ("Priority", "left"),
    ):
        t.add_column(col, justify=just, no_wrap=True)
    for row in result.rows:
        bar = "█" * min(int(abs(row.gain_pct) / 2 + Decimal("0.5")), 12)
        t.add_row(
            row.asset_class,
            _money(row.cost_basis),
            _money(row.value),
            f"{row.gain_pct:+}%",
            f"[{bar}]" if bar else "",
            f"[{_STYLE[row.priority.value]}]{_MARK[row.priority.value]} {row.action}[/]",
        )
    out.print(t)
    signal = result.signal
    harvest = list(signal.harvest)
    if harvest:
        h = Table(
            title="Harvest opportunities"
            + (" (December review)" if signal.december_review else ""),
            title_justify="left",
        )
        for col in ("Asset", "Loss", "Tax saved", "Trading cost", "Net", "Substitute", "Priority"):
            h.add_column(
                col, justify="left" if col in ("Asset", "Substitute", "Priority") else "right"
            )
        for c in sorted(harvest, key=lambda c: (PRIORITY_ORDER[c.priority], c.asset)):
            h.add_row(
                c.asset,
                _money(c.loss),
                _money(c.tax_saved),
                _money(c.trading_cost),
                _money(c.net_benefit),
                c.substitute or "—",
                f"[{_STYLE[c.priority.value]}]{_MARK[c.priority.value]}[/]",
            )
        out.print(h)
        for c in harvest:
            out.print(f"  {c.asset}: {c.reason}")
    for advice in signal.hold:
        out.print(
            f"[yellow]hold:[/yellow] {advice.asset}: {advice.reason}; waiting saves "
            f"{_money(advice.tax_saved_by_waiting)} {ccy}"
        )
    total = sum((c.tax_saved for c in harvest if c.priority.value == "high"), ZERO)
    if total:
        out.print(f"harvesting the high-priority losses saves about {_money(total)} {ccy} of tax")
    if unpriced:
        out.print(
            f"[magenta]tax:[/magenta] lots of {', '.join(unpriced)} have no price here: not assessed"
        )


def print_plan_tax(out: Console, plan: Plan) -> None:
    """A plan's Estimated Tax Impact: the lots each sale consumes, its tax, and the totals."""
    tax = plan.tax
    if tax is None:
        return
    ccy = tax.currency
    t = Table(
        title=f"Estimated Tax Impact ({tax.jurisdiction}, {ccy}, lots: {tax.policy})",
        title_justify="left",
    )
    for col, just in (
        ("#", "right"),
        ("Sell", "left"),
        ("Lots", "left"),
        ("Proceeds", "right"),
        ("Basis", "right"),
        ("Gain", "right"),
        ("Term", "left"),
        ("Tax", "right"),
    ):
        t.add_column(col, justify=just, no_wrap=just == "right")
    for line in tax.lines:
        d = line.disposal
        terms = ", ".join(sorted(c.value.replace("_", " ") for c, v in line.gains.items() if v))
        t.add_row(
            str(line.step),
            line.asset,
            ", ".join(dict.fromkeys(m.lot.lot_id for m in d.matches)),
            _money(d.proceeds),
            _money(d.cost_basis),
            _money(d.gain),
            terms or "—",
            _money(line.tax),
        )
    out.print(t)
    impact = tax.impact
    gains = ", ".join(
        f"{c.value.replace('_', ' ')} {_money(v)}" for c, v in sorted(impact.gains.items()) if v
    )
    out.print(
        f"rebalance sales: {gains or 'no realised gain'}; estimated tax {_money(impact.tax)} {ccy}"
        + (
            f"; {_money(impact.deferred_loss)} {ccy} of loss deferred (wash sale)"
            if impact.deferred_loss
            else ""
        )
    )
    if plan.harvests:
        h = Table(title="Harvest pairs", title_justify="left")
        for col in ("Sell", "Buy", "Venue", "Loss", "Tax saved", "Trading cost", "Re-buy after"):
            h.add_column(
                col, justify="right" if col in ("Loss", "Tax saved", "Trading cost") else "left"
            )
        for pair in plan.harvests:
            h.add_row(
                pair.asset,
                pair.substitute,
                pair.venue,
                _money(pair.loss),
                _money(pair.tax_saved),
                usd(pair.trading_cost_usd),
                pair.rebuy_after or "—",
            )
        out.print(h)
    lines = []
    if tax.harvest_saved:
        lines.append(f"Harvest losses: {_money(tax.harvest_saved)} {ccy} saved")
    if tax.deferral_saved:
        lines.append(f"Defer gains: {_money(tax.deferral_saved)} {ccy} saved")
    lines.append(f"Plan tax: {_money(tax.tax)} {ccy} ({usd(tax.tax_usd)})")
    out.print("[bold]" + "; ".join(lines) + "[/bold]")


def _money(value: Decimal) -> str:
    v = round_usd(value)
    return f"-{abs(v):,.2f}" if v < 0 else f"{v:,.2f}"
