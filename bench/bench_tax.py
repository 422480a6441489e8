"""Benchmark: lot selection for a rebalance over 10,000 lots across 100 assets.

`run()` returns medians in milliseconds (the lead wires it into `make bench`), each as wall-clock
time (`..._median_ms`) and as this process's CPU time (`..._cpu_median_ms`):
  tax_lot_selection_10k_lots_median_ms       every one of 100 assets sells 30% under TAX_MIN
                                             (the most work: a tax estimate per lot); target < 50
  tax_lot_selection_10k_lots_hifo_median_ms  the same under HIFO
  tax_lot_selection_10k_lots_fifo_median_ms  the same under FIFO
  tax_harvest_signal_10k_lots_median_ms      the loss-harvesting signal over the whole book
  tax_replay_10k_events_median_ms            replaying 10,000 buys and 1,000 sells (US rules)

The book is synthetic and deterministic (seeded): 100 lots per asset bought over three years at
prices drifting around 100, costs in whole cents.
Run directly: `.venv/bin/python bench/bench_tax.py`.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from keeper.tax.harvest import harvest_candidates
from keeper.tax.jurisdictions import us_profile
from keeper.tax.ledger import Acquisition, Sale, replay
from keeper.tax.model import AssetKind, Lot, LotPolicy
from keeper.tax.selection import lots_by_asset, select_for_rebalance

ASSETS = 100
LOTS_PER_ASSET = 100
DECIMALS = 8
UNIT = 10**DECIMALS
REPEAT = 15
START = datetime(2021, 1, 4, 15, 0, tzinfo=UTC)
WHEN = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)


def _book(seed: int = 7) -> tuple[list[Lot], dict[str, Decimal]]:
    rng = random.Random(seed)
    lots: list[Lot] = []
    prices: dict[str, Decimal] = {}
    for a in range(ASSETS):
        asset = f"A{a:03d}"
        kind = AssetKind.CRYPTO if a % 2 else AssetKind.SECURITY
        price = 100.0
        for i in range(LOTS_PER_ASSET):
            price *= 1 + rng.gauss(0, 0.03)  # a statistic driving the synthetic path, not money
            qty = rng.randint(1, 50) * UNIT // 10
            cents = int(price * 100) * qty // UNIT
            at = START + timedelta(days=i * 11, hours=a % 7)
            lots.append(
                Lot(
                    f"{asset}-{i}", asset, kind, "acct", qty, DECIMALS, Decimal(cents) / 100, at, at
                )
            )
        prices[asset] = Decimal(int(price * 100)) / 100
    return lots, prices


def _median_ms(fn, repeat: int = REPEAT) -> tuple[float, float]:
    """(wall-clock median, process CPU-time median) in ms. On a shared, loaded machine the wall
    time includes waiting for a core; the CPU time is the work this code does."""
    fn()  # warm caches (zoneinfo, Decimal contexts)
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return round(statistics.median(wall), 2), round(statistics.median(cpu), 2)


def run() -> dict[str, float]:
    profile = us_profile()
    lots, prices = _book()
    book = lots_by_asset(lots)
    sells = {
        asset: (sum(x.quantity_raw for x in held) * 3 // 10, prices[asset])
        for asset, held in book.items()
    }

    def select(policy):
        return lambda: select_for_rebalance(book, sells, profile=profile, when=WHEN, policy=policy)

    events = [
        Acquisition(
            x.lot_id,
            x.acquired_at,
            x.asset,
            x.kind,
            x.account,
            x.quantity_raw,
            x.decimals,
            x.cost_basis,
        )
        for x in lots
    ]
    for n, (asset, (qty, price)) in enumerate(sorted(sells.items())):
        for k in range(10):
            events.append(
                Sale(
                    f"s{n}-{k}",
                    WHEN + timedelta(days=k),
                    asset,
                    book[asset][0].kind,
                    "acct",
                    qty // 10,
                    DECIMALS,
                    price * qty // 10 / UNIT,
                )
            )
    measured = {
        "tax_lot_selection_10k_lots": _median_ms(select(LotPolicy.TAX_MIN)),
        "tax_lot_selection_10k_lots_hifo": _median_ms(select(LotPolicy.HIFO)),
        "tax_lot_selection_10k_lots_fifo": _median_ms(select(LotPolicy.FIFO)),
        "tax_harvest_signal_10k_lots": _median_ms(
            lambda: harvest_candidates(lots, prices, WHEN, profile), 5
        ),
        "tax_replay_10k_events": _median_ms(lambda: replay(events, profile), 3),
    }
    results: dict[str, float] = {}
    for name, (wall, cpu) in measured.items():
        results[f"{name}_median_ms"] = wall
        results[f"{name}_cpu_median_ms"] = cpu
    return results


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name}: {value}")
