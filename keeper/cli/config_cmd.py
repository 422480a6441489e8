"""`keeper config check`: validate the config and show what the keeper understood."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from keeper.cli._common import config_option, console, next_run_text
from keeper.cli.render import pct, usd
from keeper.config import load_config
from keeper.config.addresses import resolve_chain_refs
from keeper.errors import ConfigError


@click.group("config")
def config() -> None:
    """Inspect the keeper config."""


@config.command("check")
@config_option
def check(config_path: Path) -> None:
    """Validate the config (exit 2 with one line on the first problem) and summarise it.

    Touches no network. Address-book names are resolved when the book file exists.
    """
    cfg = load_config(config_path)
    spec = cfg.spec
    out = console()
    out.print(
        f"[bold green]ok[/bold green] {cfg.path} ({cfg.format} format): {cfg.model.treasury.name}"
    )
    for note in cfg.notes:
        out.print(f"[yellow]note:[/yellow] {note}")

    venues = Table(title="Venues", title_justify="left")
    for col in ("Venue", "Kind", "Pairing", "Quote", "Fee", "Slippage", "Min trade", "Reader"):
        venues.add_column(col, no_wrap=True)
    for v in spec.venues:
        reader = cfg.model.venues[v.name].reader
        venues.add_row(
            v.name,
            v.kind.value + (f" ({v.chain_id})" if v.chain_id else ""),
            v.pairing.value,
            v.quote or "—",
            f"{v.fee_bps} bps",
            f"{v.slippage_bps} bps",
            usd(v.min_trade_usd),
            f"static {reader.static}" if hasattr(reader, "static") else (reader or "default"),
        )
    out.print(venues)

    classes = Table(title="Classes and assets", title_justify="left")
    for col in ("Class / asset", "Target", "Band", "Trades", "Holdings"):
        classes.add_column(col)
    for c in (spec.asset_class(n) for n in cfg.model.classes):
        classes.add_row(
            f"[bold]{c.label}[/bold]" + (" (cash)" if c.cash else ""),
            pct(c.target),
            c.band.describe(),
            f"{c.frequency.label} or slower",
            "",
        )
        for name in c.assets:
            a = spec.asset(name)
            held = ", ".join(h.id for h in spec.holdings if h.asset == name)
            classes.add_row(f"  {name}", pct(a.target), a.band.describe(), "", held)
    out.print(classes)

    lim = spec.limits
    reserve = usd(lim.cash_reserve_usd) if lim.cash_reserve_usd else pct(lim.cash_reserve_fraction)
    out.print(
        f"strategy: {spec.strategy.kind.value}; cash reserve {reserve}; "
        f"max single asset {pct(lim.max_single_asset) if lim.max_single_asset else 'none'}"
    )
    nxt = next_run_text(cfg, int(time.time()))
    if nxt:
        out.print(f"schedule: {cfg.schedule.text} ({cfg.schedule.cadence.label}); next run {nxt}")
    chains = [v for v in spec.venues if v.kind.value == "chain"]
    if chains:
        try:
            refs = resolve_chain_refs(cfg)
            out.print(
                f"address book: {len(refs.holdings)} holdings and {len(refs.feeds)} feeds resolved"
            )
        except ConfigError as e:
            if "not found" in str(e):
                out.print(f"[yellow]address book:[/yellow] {e.one_line()}")
            else:
                raise
