"""`keeper demo`: the keeper's main job on a throwaway devnet (what `make demo` runs)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import click
from rich.table import Table

from keeper.chain.reader import ChainReader
from keeper.cli._common import console as shared_console
from keeper.config.loader import load_config
from keeper.core.portfolio import Snapshot
from keeper.devnet.artifacts import REPO_ROOT
from keeper.devnet.devnet import Devnet
from keeper.money import round_usd
from keeper.venues.base import read_snapshot

console = shared_console()
DEMO_CONFIG = REPO_ROOT / "examples" / "devnet.yaml"


def holdings_table(snapshot: Snapshot, title: str) -> Table:
    """Asset, venue, amount, price, USD value and weight of every non-empty position."""
    held = [p for p in snapshot.positions if p.raw > 0]
    total = sum((p.value_usd for p in held if p.value_usd is not None), Decimal(0))
    table = Table(title=title, title_justify="left")
    for column, justify in (("Asset", "left"), ("Holding", "left"), ("Amount", "right"), ("Price", "right"), ("USD value", "right"), ("Weight", "right")):
        table.add_column(column, justify=justify, no_wrap=True)
    for p in sorted(held, key=lambda p: p.value_usd or Decimal(0), reverse=True):
        if p.value_usd is None:
            table.add_row(p.asset, p.holding, f"{p.tokens:,.6f}", "unpriced", p.unpriced_reason or "", "")
            continue
        table.add_row(
            p.asset, p.holding, f"{p.tokens:,.6f}", f"${p.price_usd:,.2f}",
            f"${round_usd(p.value_usd):,.2f}", f"{p.value_usd / total:.2%}" if total else "",
        )
    table.add_section()
    table.add_row("Total", "", "", "", f"${round_usd(total):,.2f}", "100.00%")
    return table


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=DEMO_CONFIG, show_default=True)
def demo(config_path: Path) -> None:
    """Start a devnet, show the demo treasury, stop the devnet."""
    started = time.monotonic()
    with Devnet.start() as net:
        console.print(f"devnet up at {net.url} in {time.monotonic() - started:.2f} s")
        loaded = load_config(config_path)
        reader = ChainReader("devnet", loaded, eth_call=lambda tx, block: net.w3.eth.call(tx, block))
        reader.read(loaded.spec, int(time.time()))  # first read also caches decimals
        snapshot, readings = read_snapshot([reader], loaded.spec, int(time.time()))
        console.print(holdings_table(snapshot, f"{loaded.model.treasury.name} at block {snapshot.block('devnet')}"))
        console.print(f"read {len(snapshot.positions)} holdings and their feeds in {readings[0].round_trips} eth_call (Multicall3)")
    console.print("devnet stopped")
