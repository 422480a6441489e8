"""Benchmarks for the venue layer: the real ccxt and executor code against the local servers.

Functions return plain dicts of numbers; the lead wires them into `make bench`. Run one directly:
    .venv/bin/python -m bench.bench_venues
"""

from __future__ import annotations

import asyncio
import statistics
import time
from decimal import Decimal

from keeper.devnet.exchanges import crypto_engine
from keeper.devnet.exchanges.binance import start_binance
from keeper.venues.cex import CcxtVenue
from keeper.venues.executor import ExecutionConfig, LegExecutor
from keeper.venues.legs import InMemoryLegStore, LegSpec

_KEY, _SECRET = "benchKey0123456789", "benchSecret0123456789"


async def _nosleep(seconds: float) -> None:
    await asyncio.sleep(0)


def bench_binance_legs(legs: int = 30) -> dict[str, float]:
    """Wall time per leg (one marketable order: book, place, fills) through ccxt to the local
    Binance server, and HTTP requests per leg."""

    async def run() -> dict[str, float]:
        server = start_binance(crypto_engine({"BTC": "1000", "USDT": "100000000"}), {_KEY: _SECRET})
        times: list[float] = []
        try:
            async with CcxtVenue(
                "binance", api_key=_KEY, secret=_SECRET, base_url=server.url
            ) as venue:
                await venue.load()
                executor = LegExecutor(
                    venue, InMemoryLegStore(), ExecutionConfig(poll_interval_s=0), sleep=_nosleep
                )
                for i in range(legs):
                    side = "buy" if i % 2 == 0 else "sell"
                    start = time.perf_counter()
                    await executor.run(
                        LegSpec("bench", i, "binance", "BTC/USDT", side, Decimal("0.01"))
                    )
                    times.append(time.perf_counter() - start)
            requests = len(server.requests)
        finally:
            server.stop()
        return {
            "legs": float(legs),
            "median_ms_per_leg": statistics.median(times) * 1000,
            "p90_ms_per_leg": sorted(times)[int(0.9 * (len(times) - 1))] * 1000,
            "requests_per_leg": (requests - 1) / legs,  # minus the one market load
        }

    return asyncio.run(run())


def bench_server_start_stop(rounds: int = 20) -> dict[str, float]:
    """How fast a local venue server starts on a free port and stops (make demo starts several)."""
    starts, stops = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        server = start_binance(crypto_engine(), {_KEY: _SECRET})
        t1 = time.perf_counter()
        server.stop()
        t2 = time.perf_counter()
        starts.append(t1 - t0)
        stops.append(t2 - t1)
    return {
        "median_start_ms": statistics.median(starts) * 1000,
        "median_stop_ms": statistics.median(stops) * 1000,
    }


_READ_CONFIG = """
version: 1
treasury: {name: Bench}
venues:
  binance: {kind: cex, exchange: binance, quote: USDT}
  alpaca: {kind: broker, broker: alpaca, quote: USD}
  ibkr: {kind: broker, broker: ibkr, quote: USD}
classes:
  all:
    assets:
      BTC: {target: 20%, holdings: [{venue: binance, symbol: BTC}]}
      ETH: {target: 10%, holdings: [{venue: binance, symbol: ETH}]}
      SPY: {target: 30%, holdings: [{venue: alpaca, symbol: SPY}, {venue: ibkr, symbol: SPY, id: ibkr-spy}]}
      QQQ: {target: 10%, holdings: [{venue: alpaca, symbol: QQQ}]}
      USDT: {target: 10%, holdings: [{venue: binance, symbol: USDT}]}
      USD: {target: 20%, price: {fixed: 1}, holdings: [{venue: alpaca, symbol: USD}, {venue: ibkr, symbol: USD, id: ibkr-usd}]}
"""


def bench_venue_reads(rounds: int = 20) -> dict[str, float]:
    """One snapshot read per venue through the factory's readers (CcxtReader, BrokerReader) from
    the local servers, after the first read (markets cached): wall time and HTTP round trips."""
    import tempfile
    from pathlib import Path

    from keeper.cli.devnet import venues_env
    from keeper.config.loader import load_config_text
    from keeper.devnet.exchanges import LocalVenues
    from keeper.venues.brokers import BrokerReader
    from keeper.venues.cex import CcxtReader

    with LocalVenues() as local, tempfile.TemporaryDirectory() as tmp:
        env = venues_env(local)
        loaded = load_config_text(_READ_CONFIG, Path(tmp) / "keeper.yaml")
        readers = {
            "binance": CcxtReader("binance", loaded, environ=env),
            "alpaca": BrokerReader("alpaca", loaded, environ=env),
            "ibkr": BrokerReader("ibkr", loaded, environ=env),
        }
        out: dict[str, float] = {}
        for name, reader in readers.items():
            reader.read(loaded.spec, int(time.time()))  # markets, gateway session, warm quotes
            times, trips = [], []
            for _ in range(rounds):
                start = time.perf_counter()
                reading = reader.read(loaded.spec, int(time.time()))
                times.append(time.perf_counter() - start)
                trips.append(reading.round_trips)
            out[f"{name}_median_read_ms"] = statistics.median(times) * 1000
            out[f"{name}_round_trips"] = float(statistics.median(trips))
        return out


BENCHMARKS = {
    "venues.binance_legs": bench_binance_legs,
    "venues.server_start_stop": bench_server_start_stop,
    "venues.reads": bench_venue_reads,
}


def run() -> dict[str, float]:
    """`make bench` figures of every venue benchmark."""
    figures: dict[str, float] = {}
    for fn in BENCHMARKS.values():
        figures.update({key: round(value, 3) for key, value in fn().items()})
    return figures


if __name__ == "__main__":
    for name, fn in BENCHMARKS.items():
        print(name, {k: round(v, 2) for k, v in fn().items()})
