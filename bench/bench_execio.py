"""Benchmarks of the execution I/O pieces: gas policy and route choice (pure), quotes over local HTTP,
and a private submission through the local relay on anvil.

Each `bench_*` function returns a dict of named measurements; `run()` runs them all. The lead wires
them into `make bench`; alone: `.venv/bin/python -m bench.bench_execio`.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
GWEI = 10**9


def _per_call_us(fn, iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - start) / iterations * 1e6


def bench_gas_policy(iterations: int = 20_000) -> dict[str, float]:
    """suggest_fees over a 20-block history + decide: microseconds per call."""
    from keeper.signals.gas import FeeHistory, GasCaps, bump_fees, decide, suggest_fees

    history = FeeHistory(
        0,
        tuple(range(10 * GWEI, 31 * GWEI, GWEI)),
        (0.5,) * 20,
        tuple((GWEI, 2 * GWEI, 3 * GWEI) for _ in range(20)),
        (10.0, 50.0, 90.0),
    )
    caps = GasCaps()

    def one() -> None:
        decide(suggest_fees(history), caps, gas_units=400_000, eth_usd=Decimal(3000))

    return {
        "gas_suggest_and_decide_us": _per_call_us(one, iterations),
        "gas_bump_us": _per_call_us(
            lambda: bump_fees(30 * GWEI, GWEI, cap_wei=50 * GWEI), iterations
        ),
    }


def bench_route_choice(iterations: int = 5_000, quotes: int = 8) -> dict[str, float]:
    """rank() over `quotes` executable quotes: microseconds per call."""
    from keeper.quotes.base import Quote
    from keeper.quotes.choose import choose_best

    weth, usdc, router = (
        "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        "0x" + "ab" * 20,
    )
    qs = [
        Quote(
            f"s{i}",
            1,
            weth,
            usdc,
            10**18,
            3000 * 10**6 - i * 10**5,
            router,
            router,
            "0x01",
            0,
            150_000 + 10_000 * i,
        )
        for i in range(quotes)
    ]

    def one() -> None:
        choose_best(
            qs,
            gas_price_wei=20 * GWEI,
            eth_usd=Decimal(3000),
            token_out_usd=Decimal(1),
            token_out_decimals=6,
            slippage_bps=50,
        )

    return {f"choose_best_{quotes}_quotes_us": _per_call_us(one, iterations)}


def bench_quotes_local_http(rounds: int = 30) -> dict[str, float]:
    """One executable quote per source from the local aggregator server (median ms, keep-alive)."""
    import os

    from keeper.devnet.aggregators import LocalAggregators, fixed_rate_price_fn
    from keeper.http import RetryPolicy
    from keeper.quotes.odos import OdosSource
    from keeper.quotes.oneinch import OneInchSource
    from keeper.quotes.zerox import ZeroExSource

    weth, usdc = (
        "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    )
    os.environ.setdefault("ONEINCH_API_KEY", "bench-key")
    os.environ.setdefault("ZEROX_API_KEY", "bench-key")
    out: dict[str, float] = {}
    price = fixed_rate_price_fn(
        {(weth, usdc): Fraction(3000 * 10**6, 10**18)}, router="0x" + "ab" * 20
    )
    with LocalAggregators(price) as server:
        retry = RetryPolicy(attempts=1)
        for source in (
            OneInchSource(base_url=server.base_url("1inch"), retry=retry),
            ZeroExSource(base_url=server.base_url("0x"), retry=retry),
            OdosSource(base_url=server.base_url("odos"), retry=retry),
        ):
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                source.quote(1, weth, usdc, 10**18, "0x" + "cd" * 20)
                samples.append((time.perf_counter() - start) * 1e3)
            out[f"quote_{source.name}_local_ms"] = statistics.median(samples)
    return out


def bench_private_submit(transactions: int = 10) -> dict[str, float]:
    """Sign, send through the local relay's Protect endpoint, mine, confirm: median ms per tx."""
    import socket

    from eth_account import Account

    from keeper.chain.rpc import RpcClient
    from keeper.devnet.relay import LocalRelay
    from keeper.execution.submit import Submitter, TxRequest
    from keeper.relays.private import FlashbotsProtect

    binary = next(
        iter(sorted((REPO_ROOT / "node_modules" / "@foundry-rs").glob("anvil-linux-*/bin/anvil"))),
        None,
    )
    if binary is None:
        return {"private_submit_skipped_no_anvil": 1.0}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    anvil = subprocess.Popen(
        [str(binary), "--port", str(port), "--silent"], stdout=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        rpc = RpcClient(url)
        for _ in range(100):
            try:
                rpc.chain_id()
                break
            except Exception:  # noqa: BLE001 - anvil still starting; any failure means "not yet"
                time.sleep(0.05)

        class Signer:
            account = Account.from_key(
                "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
            )
            address = account.address

            def sign_transaction(self, tx):
                from keeper.execution.signer import KeystoreSigner

                return KeystoreSigner(self.account).sign_transaction(tx)

        with LocalRelay(url) as relay:

            class Clock:
                def wait_for_block(self, after):
                    return relay.mine_block()

            submitter = Submitter(
                rpc,
                FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url),
                Signer(),
                clock=Clock(),
            )
            samples = []
            for _ in range(transactions):
                start = time.perf_counter()
                submitter.submit(
                    TxRequest(31337, "0x" + "11" * 20, "0x", 21_000, 1),
                    max_fee_wei=10 * GWEI,
                    priority_fee_wei=GWEI,
                    cap_wei=50 * GWEI,
                )
                samples.append((time.perf_counter() - start) * 1e3)
        return {"private_submit_local_relay_ms": statistics.median(samples)}
    finally:
        anvil.terminate()
        anvil.wait(timeout=10)


def run() -> dict[str, float]:
    results: dict[str, float] = {}
    for bench in (
        bench_gas_policy,
        bench_route_choice,
        bench_quotes_local_http,
        bench_private_submit,
    ):
        results.update(bench())
    return results


if __name__ == "__main__":
    print(json.dumps({k: round(v, 2) for k, v in run().items()}, indent=2))
