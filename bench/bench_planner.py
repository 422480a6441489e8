"""Planner benchmark: one full pure decision (drift -> strategy -> plan) for a synthetic treasury
of 200 positions over 5 venues (one DEX with direct swaps, CEXs and brokers via their quote),
the way the keeper runs it every cycle. Target: median under 20 ms.

The tax-aware figure is the same decision for a taxable treasury (US rules) with 10,000 lots
over its holdings: lot selection and the tax of every sale, gains deferral, re-buy rules.

`run()` returns figure name -> value for the `make bench` harness. Run alone:
    .venv/bin/python bench/bench_planner.py
"""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from keeper.core.planner import decide
from keeper.core.spec import Cadence
from keeper.core.strategies import RunContext
from keeper.core.synthetic import NOW, scaled
from keeper.core.taxcontext import TaxContext
from keeper.tax import AssetKind, Lot, us_profile

ROUNDS = 60
WARMUP = 5


def _time_ms(n_positions: int, n_venues: int, rounds: int) -> tuple[list[float], int]:
    spec, snap = scaled(n_positions, n_venues, seed=7)
    assert len(snap.positions) == n_positions
    ctx = RunContext(NOW, scheduled=True, cadence=Cadence.QUARTERLY)
    trades = 0
    for _ in range(WARMUP):
        trades = len(decide(spec, snap, ctx).plan.trades)
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        decide(spec, snap, ctx)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return samples, trades


def _lots(snap, n_lots: int, seed: int = 11) -> tuple[Lot, ...]:
    """`n_lots` lots spread over the non-quote holdings, each holding's lots adding up to it."""
    rng = random.Random(seed)
    held = [p for p in snap.positions if not p.asset.startswith("Q") and p.raw > 0]
    per = max(1, n_lots // len(held))
    when = datetime.fromtimestamp(NOW, tz=UTC)
    lots = []
    for p in held:
        left = p.raw
        for i in range(per):
            qty = left if i == per - 1 else max(1, left // (per - i))
            left -= qty
            if qty <= 0:
                continue
            value = p.price_usd * Decimal(qty).scaleb(-p.decimals)
            basis = value * Decimal(rng.randint(50, 200)) / 100
            moment = when - timedelta(days=rng.randint(1, 900))
            lots.append(
                Lot(
                    f"{p.holding}#{i}",
                    p.asset,
                    AssetKind.CRYPTO,
                    p.venue,
                    qty,
                    p.decimals,
                    basis,
                    moment,
                    moment,
                )
            )
    return tuple(lots)


def _time_tax_ms(rounds: int) -> tuple[list[float], int, int]:
    spec, snap = scaled(200, 5, seed=7)
    tax = TaxContext(
        profile=us_profile(),
        lots=_lots(snap, 10_000),
        accounts={v.name: (v.name,) for v in spec.venues},
    )
    ctx = RunContext(NOW, scheduled=True, cadence=Cadence.QUARTERLY)
    for _ in range(2):
        plan = decide(spec, snap, ctx, tax).plan
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        decide(spec, snap, ctx, tax)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return samples, len(plan.tax.lines), len(tax.lots)


def run() -> dict[str, float | int]:
    samples, trades = _time_ms(200, 5, ROUNDS)
    big, big_trades = _time_ms(1000, 5, 15)
    taxed, taxed_sales, _ = _time_tax_ms(15)
    return {
        "planner_200_positions_median_ms": round(statistics.median(samples), 3),
        "planner_200_positions_p95_ms": round(sorted(samples)[int(len(samples) * 0.95) - 1], 3),
        "planner_200_positions_trades": trades,
        "planner_1000_positions_median_ms": round(statistics.median(big), 3),
        "planner_1000_positions_trades": big_trades,
        "planner_200_positions_10k_lots_tax_median_ms": round(statistics.median(taxed), 3),
        "planner_200_positions_10k_lots_taxed_sales": taxed_sales,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
