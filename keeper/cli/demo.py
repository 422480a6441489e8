"""`keeper demo`: the keeper's main job on a throwaway devnet (what `make demo` runs)."""

from __future__ import annotations

import time
from decimal import Decimal

import click
from rich.console import Console
from rich.table import Table

from keeper.chain.positions import ChainRead, read_positions
from keeper.devnet.demo_treasury import holding_specs
from keeper.devnet.devnet import Devnet
from keeper.money import round_usd

console = Console()


def holdings_table(read: ChainRead, venue: str) -> Table:
    """Asset, venue, amount, price, USD value and weight of every non-empty position."""
    held = [p for p in read.positions if p.raw > 0]
    total = sum((p.value for p in held if p.value is not None), Decimal(0))
    table = Table(title=f"Demo treasury at block {read.block_number}", title_justify="left")
    for column, justify in (("Asset", "left"), ("Venue", "left"), ("Amount", "right"), ("Price", "right"), ("USD value", "right"), ("Weight", "right")):
        table.add_column(column, justify=justify)
    for p in sorted(held, key=lambda p: p.value or Decimal(0), reverse=True):
        where = venue if p.spec.holding == "wallet" else f"{venue}:{p.spec.holding}"
        if p.value is None:
            table.add_row(p.spec.asset, where, f"{p.amount:,.6f}", "unpriced", p.unpriced_reason or "", "")
            continue
        table.add_row(
            p.spec.asset, where, f"{p.amount:,.6f}", f"${p.price:,.2f}",
            f"${round_usd(p.value):,.2f}", f"{p.value / total:.2%}" if total else "",
        )
    table.add_section()
    table.add_row("Total", "", "", "", f"${round_usd(total):,.2f}", "100.00%")
    return table


@click.command()
def demo() -> None:
    """Start a devnet, show the demo treasury, stop the devnet."""
    started = time.monotonic()
    with Devnet.start() as net:
        console.print(f"devnet up at {net.url} in {time.monotonic() - started:.2f} s")
        calls = 0

        def eth_call(tx, block):
            nonlocal calls
            calls += 1
            return net.w3.eth.call(tx, block)

        read = read_positions(eth_call, holding_specs(net.book), net.book.accounts["treasury"])
        console.print(holdings_table(read, "devnet"))
        console.print(f"read {len(read.positions)} positions and their feeds in {calls} eth_call (Multicall3)")
    console.print("devnet stopped")
