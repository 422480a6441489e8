"""Benchmarks of the pure DeFi maths: V3 position valuation, the migration planner, weighing.

Each `bench_*` function runs its workload for about `seconds` and returns a dict of plain
numbers (the lead wires them into `make bench`). Run alone: `.venv/bin/python bench/defimath.py`.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from keeper.money import TokenAmount
from keeper.signals import uniswap_v3_math as v3
from keeper.signals.il import (
    PairPrices,
    V3PoolState,
    V3Position,
    deposit_at_entry,
    measure_v3,
    tick_to_price,
)
from keeper.signals.migration import plan_migrations
from keeper.signals.migration_rules import MigrationParams, YieldHolding, seed_000_caps
from keeper.signals.opportunity import from_move, weigh


def _rate(workload, seconds: float) -> tuple[int, float]:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        workload()
        count += 1
    return count, time.perf_counter() - start


def bench_v3_measure(seconds: float = 2.0) -> dict:
    """Exact valuation of one V3 position (TickMath x2, LiquidityAmounts, USD values)."""
    liquidity, lower, upper = 10**20, -887220, 887220
    d0, d1 = deposit_at_entry(v3.get_sqrt_ratio_at_tick(0), lower, upper, liquidity)
    position = V3Position(liquidity, lower, upper, d0, d1, 18, 18)
    pool = V3PoolState(v3.get_sqrt_ratio_at_tick(6_932), 6_932)
    prices = PairPrices(tick_to_price(6_932, 18, 18), Decimal(1))
    count, elapsed = _rate(lambda: measure_v3(position, pool, prices), seconds)
    return {
        "name": "v3_measure",
        "per_second": round(count / elapsed),
        "ms_each": elapsed / count * 1e3,
    }


def _holdings(pools: int, per_pool: int) -> list[YieldHolding]:
    result = []
    for p in range(pools):
        for i in range(per_pool):
            result.append(
                YieldHolding(
                    id=f"p{p}-h{i}",
                    pool=f"p{p}",
                    protocol=f"proto{i % 7}",
                    strategy="lending",
                    asset="USDC",
                    amount=TokenAmount.of(str(1_000 + 97 * i), 6),
                    price_usd=Decimal(1),
                    apy=Decimal(i % 13) / 100,
                    stablecoin=True,
                    exit_gas_usd=Decimal("0.05"),
                    entry_gas_usd=Decimal("0.05"),
                )
            )
    return result


def bench_migration_plan(seconds: float = 2.0, pools: int = 10, per_pool: int = 10) -> dict:
    """One planning cycle over `pools` x `per_pool` holdings with seed 000's caps."""
    holdings = _holdings(pools, per_pool)
    params = MigrationParams(caps=seed_000_caps(), max_gas_bps=None, max_slice_usd=Decimal(500))
    count, elapsed = _rate(lambda: plan_migrations(holdings, params), seconds)
    moves = len(plan_migrations(holdings, params).moves)
    return {
        "name": f"migration_plan_{pools * per_pool}_holdings",
        "per_second": round(count / elapsed, 1),
        "ms_each": elapsed / count * 1e3,
        "moves": moves,
    }


def bench_weigh(seconds: float = 2.0) -> dict:
    """Weighing the opportunities of one planning cycle."""
    plan = plan_migrations(_holdings(10, 10), MigrationParams(max_gas_bps=None))
    opportunities = [from_move(m) for m in plan.moves]
    count, elapsed = _rate(lambda: weigh(opportunities), seconds)
    return {
        "name": f"weigh_{len(opportunities)}_opportunities",
        "per_second": round(count / elapsed, 1),
        "ms_each": elapsed / count * 1e3,
    }


BENCHMARKS = (bench_v3_measure, bench_migration_plan, bench_weigh)

def run() -> dict[str, float]:
    """`make bench` figures: milliseconds per call of each workload."""
    figures: dict[str, float] = {}
    for bench in BENCHMARKS:
        result = bench()
        figures[f"{result['name']}_ms"] = round(result["ms_each"], 4)
    return figures


if __name__ == "__main__":
    print(json.dumps([bench() for bench in BENCHMARKS], indent=2))
