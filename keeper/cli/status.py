"""`keeper status`: seed 000's drift monitor for the current portfolio, and what every venue
holds (chains, exchanges and brokers side by side, read through each venue's reader)."""

from __future__ import annotations

from pathlib import Path

import click

from keeper.cli._common import (
    config_option,
    console,
    load_and_read,
    next_run_text,
    snapshot_options,
)
from keeper.cli.render import drift_table, positions_table, timeline_table, usd, when
from keeper.core.drift import compute_drift


@click.command("status")
@config_option
@snapshot_options
def status(config_path: Path, static: Path | None, now: int | None) -> None:
    """Target vs current allocation, drift, status and priority of every class and asset."""
    loaded = load_and_read(config_path, static, now)
    cfg, snap = loaded.config, loaded.snapshot
    report = compute_drift(cfg.spec, snap)
    out = console()
    blocks = ", ".join(f"{v} #{b}" for v, b in snap.blocks)
    out.print(
        f"[bold]{cfg.model.treasury.name}[/bold]: {usd(report.total_usd)} at {when(snap.taken_at)}"
        + (f" (blocks: {blocks})" if blocks else "")
    )
    for note in cfg.notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    out.print(drift_table(report, cfg.spec, list(cfg.model.classes)))
    out.print(positions_table(snap))
    for row in report.blocked():
        out.print(
            f"[magenta]unpriced:[/magenta] {row.name}: {row.reason} (trading in {row.name} is "
            f"blocked)"
        )
    if report.excluded_usd:
        out.print(
            f"[magenta]excluded from the total:[/magenta] {usd(report.excluded_usd)} held in "
            f"unpriced assets"
        )
    out.print(timeline_table(report, next_run_text(cfg, loaded.now)))
