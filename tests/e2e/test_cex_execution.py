"""End to end: plans executed by the real ccxt code against the local Binance server."""

from __future__ import annotations

import io
import logging
from decimal import Decimal

import pytest

from keeper import secrets
from keeper.devnet.exchanges.engine import Fault
from keeper.venues.dryrun import DryRunExecutor
from keeper.venues.executor import LegExecutor, recover
from keeper.venues.legs import InMemoryLegStore, LegSpec, client_order_id
from keeper.venues.plan import run_plan
from keeper.venues.types import OrderState
from tests.aio import FakeClock, aio
from tests.e2e.conftest import API_KEY, SECRET, assert_journal_matches_venue, fast_config

D = Decimal


def _spec(
    index: int, side: str, amount: str, symbol: str = "BTC/USDT", plan: str = "plan-e2e", **kw
) -> LegSpec:
    return LegSpec(plan, index, "binance", symbol, side, D(amount), **kw)  # type: ignore[arg-type]


def _posts(server, cid: str) -> int:
    return sum(
        1
        for r in server.requests
        if r.method == "POST" and r.path.endswith("/order") and cid.encode() in r.body
    )


@aio
async def test_run_plan__sell_btc_buy_eth__both_filled_and_ledger_exact(binance, binance_server):
    engine = binance_server.engine
    initial = engine.totals()
    clock, store = FakeClock(), InMemoryLegStore()
    legs = [_spec(0, "sell", "0.5"), _spec(1, "buy", "4", symbol="ETH/USDT")]
    async with binance() as venue:
        report = await run_plan(
            legs, {"binance": venue}, store, fast_config(), sleep=clock.sleep, clock=clock
        )
    assert [leg.state for leg in report.legs] == [OrderState.FILLED, OrderState.FILLED]
    assert engine.totals()["BTC"] == D("1.5") and engine.totals()["ETH"] == D(
        "23.996"
    )  # 0.1% fee in ETH
    assert len(report.legs[0].slices) == 3  # 0.5 BTC ~ $30k, split below $10k (seed 001)
    assert_journal_matches_venue(report.legs, engine, initial)


@aio
async def test_run_plan__sells_before_buys_on_a_venue(binance, binance_server):
    clock, store = FakeClock(), InMemoryLegStore()
    legs = [_spec(0, "buy", "2", symbol="ETH/USDT"), _spec(1, "sell", "0.1")]
    async with binance() as venue:
        await run_plan(
            legs, {"binance": venue}, store, fast_config(), sleep=clock.sleep, clock=clock
        )
    posts = [r.body for r in binance_server.requests if r.method == "POST"]
    assert b"side=SELL" in posts[0] and b"side=BUY" in posts[-1]


@aio
async def test_partial_fills__replaced_at_fresh_price__completed(binance, binance_server):
    engine = binance_server.engine
    initial = engine.totals()
    engine.faults.fill_ratios.extend([D("0.3"), D("0.5")])
    clock, store = FakeClock(), InMemoryLegStore()
    async with binance() as venue:
        leg = await LegExecutor(venue, store, fast_config(), sleep=clock.sleep, clock=clock).run(
            _spec(0, "sell", "0.1")
        )
    assert leg.state is OrderState.FILLED and leg.filled == D("0.1")
    assert [o.state for o in leg.orders] == [
        OrderState.CANCELLED,
        OrderState.CANCELLED,
        OrderState.FILLED,
    ]
    assert [o.attempt for o in leg.orders] == [0, 1, 2]
    assert not engine.open_orders()
    assert_journal_matches_venue([leg], engine, initial)


@aio
async def test_partial_fill__never_completes__cancelled_with_residual_for_replanning(
    binance, binance_server
):
    engine = binance_server.engine
    initial = engine.totals()
    engine.faults.fill_ratios.extend([D("0.5"), D(0), D(0)])
    clock, store = FakeClock(), InMemoryLegStore()
    async with binance() as venue:
        leg = await LegExecutor(
            venue, store, fast_config(max_replaces=2), sleep=clock.sleep, clock=clock
        ).run(_spec(0, "sell", "0.1"))
    assert (
        leg.state is OrderState.CANCELLED and leg.filled == D("0.05") and leg.residual == D("0.05")
    )
    assert "re-planning" in leg.reason
    assert not engine.open_orders()
    assert_journal_matches_venue([leg], engine, initial)


@aio
async def test_resting_order__market_fills_it_while_polled__filled_without_replace(
    binance, binance_server
):
    engine = binance_server.engine
    engine.faults.fill_ratios.append(D(0))
    engine.faults.fills_on_query.extend([D("0.5"), D(1)])
    clock, store = FakeClock(), InMemoryLegStore()
    async with binance() as venue:
        leg = await LegExecutor(venue, store, fast_config(), sleep=clock.sleep, clock=clock).run(
            _spec(0, "buy", "0.1")
        )
    assert leg.state is OrderState.FILLED and len(leg.orders) == 1
    assert {f.asset for f in leg.orders[0].fees} == {"BTC"}


@pytest.mark.parametrize(
    "fault", [Fault("delay_after", delay_s=5.0), Fault("drop_after")], ids=["timeout", "dropped"]
)
@aio
async def test_order_placed_but_answer_lost__found_by_client_id__never_placed_twice(
    binance, binance_server, fault
):
    engine = binance_server.engine
    initial = engine.totals()
    clock, store = FakeClock(), InMemoryLegStore()
    spec = _spec(0, "buy", "0.1")
    async with binance(timeout_ms=1_500) as venue:
        await venue.load()
        engine.faults.add("place", fault)
        leg = await LegExecutor(venue, store, fast_config(), sleep=clock.sleep, clock=clock).run(
            spec
        )
    cid = client_order_id(spec.plan_id, 0, 0, 0)
    assert (
        leg.state is OrderState.FILLED and leg.orders[0].client_id == cid and len(leg.orders) == 1
    )
    assert [o.client_id for o in engine.orders.values()] == [cid]
    assert _posts(binance_server, cid) == 1
    assert_journal_matches_venue([leg], engine, initial)


@aio
async def test_request_dropped_before_execution__resent_with_same_client_id_once(
    binance, binance_server
):
    engine = binance_server.engine
    engine.faults.add("place", Fault("drop_before"))
    clock, store = FakeClock(), InMemoryLegStore()
    spec = _spec(0, "buy", "0.1")
    async with binance() as venue:
        leg = await LegExecutor(venue, store, fast_config(), sleep=clock.sleep, clock=clock).run(
            spec
        )
    cid = client_order_id(spec.plan_id, 0, 0, 0)
    assert leg.state is OrderState.FILLED and leg.orders[0].sends == 2
    assert _posts(binance_server, cid) == 2 and len(engine.orders) == 1


@aio
async def test_rate_limited__backs_off_by_retry_after_then_fills(binance, binance_server):
    engine = binance_server.engine
    engine.faults.add("place", Fault("status", status=429, reason="rate_limit", retry_after_s=2))
    engine.faults.add("place", Fault("status", status=418, reason="ip_banned", retry_after_s=3))
    engine.faults.add("book", Fault("status", status=429, reason="rate_limit", retry_after_s=2))
    clock, store = FakeClock(), InMemoryLegStore()
    async with binance() as venue:
        leg = await LegExecutor(venue, store, fast_config(), sleep=clock.sleep, clock=clock).run(
            _spec(0, "buy", "0.1")
        )
    assert leg.state is OrderState.FILLED and len(engine.orders) == 1
    assert [s for s in clock.slept if s >= 2] == [2.0, 2.0, 3.0]


@aio
async def test_insufficient_funds__leg_aborted_with_clear_report__other_legs_continue(
    binance, binance_server
):
    engine = binance_server.engine
    initial = engine.totals()
    clock, store = FakeClock(), InMemoryLegStore()
    legs = [
        _spec(0, "sell", "5"),
        _spec(1, "buy", "1", symbol="ETH/USDT"),
    ]  # the account holds 2 BTC
    async with binance() as venue:
        report = await run_plan(
            legs,
            {"binance": venue},
            store,
            fast_config(max_order_notional=None),
            sleep=clock.sleep,
            clock=clock,
        )
    failed = report.legs[0]
    assert failed.state is OrderState.FAILED and "InsufficientFunds" in failed.reason
    assert report.legs[1].state is OrderState.FILLED
    assert report.failed == [failed]
    assert any("leg 0 binance sell 5 BTC/USDT: failed" in line for line in report.lines())
    assert_journal_matches_venue(report.legs, engine, initial)


@aio
async def test_buys_beyond_cash__scaled_pro_rata_and_noted(binance, binance_server):
    clock, store = FakeClock(), InMemoryLegStore()
    legs = [
        _spec(0, "buy", "1.5"),
        _spec(1, "buy", "20", symbol="ETH/USDT"),
    ]  # ~$90k + $60k, $100k cash
    async with binance() as venue:
        report = await run_plan(
            legs, {"binance": venue}, store, fast_config(), sleep=clock.sleep, clock=clock
        )
    for leg in report.legs:
        assert leg.state is OrderState.FILLED and "scaled to" in leg.reason
    assert report.legs[0].spec.amount < D("1.5") and report.legs[1].spec.amount < D("20")
    assert binance_server.engine.totals()["USDT"] >= 0


@aio
async def test_worst_price__book_moved_past_it__leg_stops_without_sending(binance, binance_server):
    clock, store = FakeClock(), InMemoryLegStore()
    async with binance() as venue:
        leg = await LegExecutor(venue, store, fast_config(), sleep=clock.sleep, clock=clock).run(
            _spec(0, "buy", "0.1", worst_price=D("59000"))
        )
    assert leg.state is OrderState.CANCELLED and "worst price" in leg.reason
    assert not binance_server.engine.orders


class _CrashAfter(Exception):
    pass


class CrashingStore(InMemoryLegStore):
    """Saves, then dies right after the save where `when(leg)` first holds (a process crash)."""

    def __init__(self, when):
        super().__init__()
        self.when = when
        self.crashed = False

    def save(self, leg):
        super().save(leg)
        if not self.crashed and self.when(leg):
            self.crashed = True
            raise _CrashAfter()


@pytest.mark.parametrize("crash_on", ["sent", "acknowledged"])
@aio
async def test_crash_between_steps__recovery_reconciles_by_client_id__one_order(
    binance, binance_server, crash_on
):
    """Crash just before the order request left ("sent" journaled) or just after it was placed."""
    engine = binance_server.engine
    initial = engine.totals()
    engine.faults.fill_ratios.append(D(0))  # the order rests, so the crash leaves it open
    want = OrderState.SENT if crash_on == "sent" else OrderState.ACKNOWLEDGED
    store = CrashingStore(lambda leg: any(o.state is want for o in leg.orders))
    clock = FakeClock()
    spec = _spec(0, "buy", "0.1")
    async with binance() as venue:
        with pytest.raises(_CrashAfter):
            await LegExecutor(venue, store, fast_config(), sleep=clock.sleep, clock=clock).run(spec)
    before = len(engine.orders)
    async with binance() as restarted:  # a new process: new ccxt instance, same journal
        [reconciled] = await recover(
            store, {"binance": restarted}, fast_config(), sleep=clock.sleep
        )
        assert len(engine.orders) == before  # recovery placed nothing
        engine.faults.fills_on_query.append(D(1))
        leg = await LegExecutor(
            restarted, store, fast_config(), sleep=clock.sleep, clock=clock
        ).run(spec)
    cid = client_order_id(spec.plan_id, 0, 0, 0)
    assert leg.state is OrderState.FILLED
    assert [o.client_id for o in engine.orders.values()] == [cid]
    assert_journal_matches_venue([leg], engine, initial)


@aio
async def test_dry_run__preview__no_authenticated_call_and_nothing_placed(binance, binance_server):
    legs = [_spec(0, "sell", "0.5"), _spec(1, "buy", "3", symbol="ETH/USDT")]
    async with binance(api_key=None, secret=None) as public_only:
        preview = await DryRunExecutor({"binance": public_only}, fast_config()).preview(legs)
    assert binance_server.requests, "the dry run must read public market data"
    assert not [r for r in binance_server.requests if r.authenticated or r.method != "GET"]
    assert not binance_server.engine.orders
    assert [(p.leg_index, p.slice_index) for p in preview] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert preview[0].client_id == client_order_id(
        "plan-e2e", 0, 0, 0
    )  # the id a live run would use
    assert all(p.limit_price > 0 and p.notional <= D("10100") for p in preview)


def _capture_debug_logs():
    """A DEBUG handler on the `ccxt` and `keeper` loggers: it sees every record before any
    handler on the root logger could rewrite it, so the checks below see what really was logged."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger("ccxt"), logging.getLogger("keeper")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)

    def done():
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
        return stream.getvalue()

    return handler, done


async def _run_with_errors(binance, binance_server) -> list[str]:
    engine = binance_server.engine
    engine.faults.add("place", Fault("status", status=429, reason="rate_limit", retry_after_s=1))
    engine.faults.add("place", Fault("drop_after"))
    clock, store = FakeClock(), InMemoryLegStore()
    errors = []
    async with binance() as venue:
        await LegExecutor(venue, store, fast_config(), sleep=clock.sleep, clock=clock).run(
            _spec(0, "buy", "0.1")
        )
        leg = await LegExecutor(venue, store, fast_config(), sleep=clock.sleep, clock=clock).run(
            _spec(1, "sell", "50")
        )
        errors.append(leg.reason or "")
    async with binance(secret="not-the-right-secret-but-long-enough") as wrong:
        try:
            await wrong.balances()
        except Exception as e:  # noqa: BLE001 - collecting every message for the check
            errors += [str(e), repr(e), getattr(e, "one_line", lambda: "")()]
    return errors


@aio
async def test_secrets__debug_logs_and_errors__never_contain_api_key_or_secret(
    binance, binance_server
):
    secrets.register(API_KEY)
    secrets.register(SECRET)
    handler, done = _capture_debug_logs()
    handler.addFilter(
        secrets.RedactingFilter()
    )  # what secrets.install_log_filter() puts on each handler
    try:
        errors = await _run_with_errors(binance, binance_server)
    finally:
        logs = done()
        secrets.forget_all()
    assert "X-MBX-APIKEY" in logs  # ccxt logged its request headers at DEBUG: the check is real
    for text in [logs, *errors]:
        assert API_KEY not in text and SECRET not in text


@aio
async def test_secrets__without_the_log_filter__ccxt_debug_logs_leak_the_key(
    binance, binance_server
):
    """The check above bites: without keeper.secrets' filter, ccxt's DEBUG lines carry the key."""
    handler, done = _capture_debug_logs()
    try:
        await _run_with_errors(binance, binance_server)
    finally:
        logs = done()
    assert API_KEY in logs
