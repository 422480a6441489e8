"""Planner benchmark: one full pure decision (drift -> strategy -> plan) for a synthetic treasury
of 200 positions over 5 venues (one DEX with direct swaps, CEXs and brokers via their quote),
the way the keeper runs it every cycle. Target: median under 20 ms.

`run()` returns figure name -> value for the `make bench` harness. Run alone:
    .venv/bin/python bench/bench_planner.py
"""

from __future__ import annotations

import json
import statistics
import time

from keeper.core.planner import decide
from keeper.core.spec import Cadence
from keeper.core.strategies import RunContext
from keeper.core.synthetic import NOW, scaled

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


def run() -> dict[str, float | int]:
    samples, trades = _time_ms(200, 5, ROUNDS)
    big, big_trades = _time_ms(1000, 5, 15)
    return {
        "planner_200_positions_median_ms": round(statistics.median(samples), 3),
        "planner_200_positions_p95_ms": round(sorted(samples)[int(len(samples) * 0.95) - 1], 3),
        "planner_200_positions_trades": trades,
        "planner_1000_positions_median_ms": round(statistics.median(big), 3),
        "planner_1000_positions_trades": big_trades,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
