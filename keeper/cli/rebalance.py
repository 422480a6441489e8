"""`keeper rebalance preview` and `keeper rebalance set-target`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from keeper.cli._common import config_option, console, load_and_read, snapshot_options
from keeper.cli.render import (
    drift_after_table,
    trades_table,
    usd,
    venue_orders_table,
    when,
)
from keeper.config.edit import set_target as edit_set_target
from keeper.config.loader import LoadedConfig
from keeper.core.drift import compute_drift
from keeper.core.plan import Plan, apply_plan
from keeper.core.planner import decide
from keeper.core.spec import Cadence, VenueKind
from keeper.core.strategies import RunContext
from keeper.errors import HaltError, KeeperError
from keeper.execution.venue_legs import execute_venue_trades
from keeper.secrets import redact


@click.group("rebalance")
def rebalance() -> None:
    """Preview rebalances and change targets."""


@rebalance.command("preview")
@config_option
@snapshot_options
@click.option(
    "--off-schedule",
    is_flag=True,
    help="Plan as an unscheduled check (default: the scheduled run).",
)
@click.option(
    "--cadence",
    type=click.Choice([c.label for c in Cadence]),
    default=None,
    help="The frequency-matrix column of this run (default: the schedule's, else daily).",
)
def preview(
    config_path: Path, static: Path | None, now: int | None, off_schedule: bool, cadence: str | None
) -> None:
    """The trades a rebalance would make now, per venue, with costs and drift after; sends none.

    For exchanges and brokers it also shows each order the keeper would send (limit price,
    slices, notional, fee); that dry run uses public market data only and makes no
    authenticated call."""
    loaded = load_and_read(config_path, static, now)
    cfg, snap = loaded.config, loaded.snapshot
    run_cadence = (
        Cadence[cadence.upper()] if cadence else (cfg.spec.schedule_cadence or Cadence.DAILY)
    )
    ctx = RunContext(now=loaded.now, scheduled=not off_schedule, cadence=run_cadence)
    decision = decide(cfg.spec, snap, ctx)
    plan, report = decision.plan, decision.report
    out = console()
    kind = "scheduled" if ctx.scheduled else "off-schedule"
    out.print(
        f"[bold]{cfg.model.treasury.name}[/bold]: {usd(report.total_usd)} "
        f"at {when(snap.taken_at)}; {plan.strategy.value} strategy, {kind} {run_cadence.label} run"
    )
    for note in cfg.notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    if plan.no_action:
        out.print(f"[bold green]No action:[/bold green] {plan.no_action_reason}")
    else:
        for venue in plan.venues():
            out.print(trades_table(plan, venue))
        out.print(
            f"[bold]{len(plan.trades)} trades[/bold], notional {usd(plan.notional_usd)}, "
            f"expected cost {usd(plan.expected_cost_usd)} + gas (filled by the runner), "
            f"drift removed {usd(plan.drift_removed_usd)}"
        )
    for d in plan.dropped:
        out.print(
            f"[yellow]dropped:[/yellow] {d.venue}: {d.sell_asset} -> {d.buy_asset} "
            f"{usd(d.notional_usd)}: {d.reason}"
        )
    for s in plan.shortfalls:
        out.print(
            f"[dark_orange]shortfall:[/dark_orange] {s.asset}: {usd(s.unmet_usd)} "
            f"of its required {s.side} not made: {s.reason}"
        )
    for n in plan.notes:
        out.print(f"[cyan]note:[/cyan] {n}")
    if not plan.no_action:
        after = compute_drift(cfg.spec, apply_plan(snap, plan))
        out.print(drift_after_table(report, after, plan))
        _venue_orders(out, plan, cfg, static is not None)


def _venue_orders(out: Console, plan: Plan, cfg: LoadedConfig, static: bool) -> None:
    """The dry run's orders on each exchange and broker of the plan (public data only)."""
    kinds = {v.name: v.kind for v in cfg.spec.venues}
    if not any(kinds[t.venue] is not VenueKind.CHAIN for t in plan.trades):
        return
    if static:
        out.print(
            "[cyan]note:[/cyan] exchange and broker orders are not previewed with --static "
            "(their limit prices and sizes need each venue's market data)"
        )
        return
    try:
        result = execute_venue_trades(plan, cfg, None, send=False)
    except HaltError:
        raise
    except KeeperError as e:
        out.print(f"[yellow]venue orders not previewed:[/yellow] {redact(e.one_line())}")
        return
    for venue in sorted({o.venue for o in result.preview}):
        out.print(venue_orders_table(venue, [o for o in result.preview if o.venue == venue]))


@rebalance.command("set-target")
@config_option
@click.argument("asset")
@click.argument("value")
@click.option(
    "--take-from", default=None, metavar="ASSET", help="Take the change from this asset's target."
)
@click.option(
    "--scale-others", is_flag=True, help="Scale every other target so they still add up to 100%."
)
def set_target(
    config_path: Path, asset: str, value: str, take_from: str | None, scale_others: bool
) -> None:
    """Set ASSET's target to VALUE ("45%", "$12,000"); keeps comments, writes a backup."""
    result = edit_set_target(
        config_path, asset, value, take_from=take_from, scale_others=scale_others
    )
    out = console()
    if not result.changes:
        out.print(f"{asset} already targets {value}: nothing changed")
        return
    for ch in result.changes:
        out.print(f"{ch.asset}: {ch.old} -> {ch.new}")
    out.print(f"wrote {config_path} (previous version: {result.backup}); the config is valid")
