"""Generated order sequences under injected faults: never a duplicate order, never a lost one.

Hypothesis draws a plan (1-3 legs), fill behaviour (0..100% at placement, while resting, racing a
cancel), faults the Binance server answers with (429/418 with Retry-After, 5xx, clock skew, a
connection dropped before or after executing, a late answer after executing), every ccxt error
class raised at the client before the request leaves (or, for errors that may follow execution,
after the server executed it), and a crash of the keeper after any journal write. The keeper
then restarts (new ccxt instance, same journal) and, once the faults are spent, finishes.

Invariants, checked against the server's own records:
- every order the venue holds carries a distinct client id and is in the journal (none lost,
  none doubled), with the venue's filled amount and cost;
- balances: initial + what the journal booked (fills, costs, fees) == the venue's balances;
- no leg traded more than asked; nothing is left open; every leg reached a terminal state.
"""

from __future__ import annotations

import os
from decimal import Decimal

from ccxt.base import errors as cx
from hypothesis import HealthCheck, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from keeper.devnet.exchanges.engine import Fault
from keeper.venues.legs import InMemoryLegStore, LegSpec
from keeper.venues.plan import run_plan
from keeper.venues.types import OrderState
from tests.aio import FakeClock
from tests.e2e.conftest import assert_journal_matches_venue, fast_config

D = Decimal

PROFILE = os.environ.get("KEEPER_FUZZ_PROFILE", "default")
EXAMPLES = {"default": 25, "release": 300}.get(PROFILE, 25)


def _classes(tree=None):
    tree = cx.error_hierarchy if tree is None else tree
    out = []
    for name, children in tree.items():
        out.append(getattr(cx, name))
        out.extend(_classes(children))
    return out


CCXT_CLASSES = _classes()
# Errors that a client can see after the venue executed the request (the answer was lost or
# garbled). Refusals (429, funds, filters, auth) are only ever raised for requests not executed.
MAY_FOLLOW_EXECUTION = {
    cx.NetworkError,
    cx.RequestTimeout,
    cx.ExchangeNotAvailable,
    cx.BadResponse,
    cx.NullResponse,
    cx.OperationFailed,
    cx.ExchangeError,
    cx.BaseError,
    cx.CancelPending,
    cx.UnsubscribeError,
}

OPS = ["place", "query", "cancel", "trades", "book", "account", "market"]

SERVER_FAULTS = [
    Fault("status", status=429, reason="rate_limit", retry_after_s=1),
    Fault("status", status=418, reason="ip_banned", retry_after_s=2),  # Binance only
    Fault("status", status=500, reason="server_error"),
    Fault("status", status=503, reason="internal_error"),
    Fault("status", status=503, reason="maintenance"),
    Fault("status", status=400, reason="timestamp"),
    Fault("status", status=502, reason="bad_gateway"),
    Fault("status", status=400, reason="unknown_code"),
    Fault("drop_before"),
    Fault("drop_after"),
]
PLACE_ONLY_FAULTS = [
    Fault("status", status=400, reason="insufficient_balance"),
    Fault("status", status=400, reason="filter_notional"),
    Fault("delay_after", delay_s=1.2),  # the client times out; the order was placed
]


def _speaks(kind: str, fault: Fault) -> bool:
    """Whether the `kind` server has an answer for this fault (OKX has no 418 ban)."""
    from keeper.devnet.exchanges import binance, okx

    errors = {"binance": binance.ERRORS, "okx": okx.ERRORS}[kind]
    return fault.kind != "status" or fault.reason == "bad_gateway" or fault.reason in errors


RATIOS = [D(0), D("0.1"), D("0.25"), D("0.5"), D("0.9"), D(1)]

LEG_CHOICES = [
    ("BTC/USDT", "sell", st.decimals(D("0.001"), D("0.6"), places=5)),
    ("ETH/USDT", "buy", st.decimals(D("0.01"), D("5"), places=4)),
    ("SOL/USDT", "sell", st.decimals(D("1"), D("80"), places=3)),
    ("ETH/USDT", "sell", st.decimals(D("0.01"), D("4"), places=4)),
]


@st.composite
def legs(draw):
    picks = draw(
        st.lists(st.sampled_from(range(len(LEG_CHOICES))), min_size=1, max_size=3, unique=True)
    )
    out = []
    for i, pick in enumerate(picks):
        symbol, side, amounts = LEG_CHOICES[pick]
        out.append(LegSpec("fuzz", i, "binance", symbol, side, draw(amounts), max_slippage_bps=50))  # type: ignore[arg-type]
    return out


@st.composite
def server_faults(draw):
    faults = []
    for _ in range(draw(st.integers(0, 5))):
        op = draw(st.sampled_from(OPS))
        pool = SERVER_FAULTS + (PLACE_ONLY_FAULTS if op == "place" else [])
        faults.append((op, draw(st.sampled_from(pool))))
    return faults


@st.composite
def client_errors(draw):
    out = []
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(OPS))
        cls = draw(st.sampled_from(CCXT_CLASSES))
        after = draw(st.booleans()) and cls in MAY_FOLLOW_EXECUTION
        out.append((op, cls, after))
    return out


def _op_of(method: str, url: str) -> str:
    """The engine's fault queue a ccxt request belongs to (Binance /api/v3 or OKX /api/v5 paths)."""
    path = url.split("?")[0]
    if path.endswith("/order"):  # Binance: one path, three verbs; OKX: GET /trade/order
        return {"POST": "place", "GET": "query", "DELETE": "cancel"}[method]
    for suffix, op in (
        ("/batch-orders", "place"),
        ("/cancel-order", "cancel"),
        ("/myTrades", "trades"),
        ("/fills-history", "trades"),
        ("/fills", "trades"),
        ("/depth", "book"),
        ("/books", "book"),
        ("/account", "account"),
        ("/balance", "account"),
    ):
        if path.endswith(suffix):
            return op
    return "market"


def inject_client_errors(venue, errors):
    """Wrap ccxt's HTTP layer: raise the drawn ccxt error before the request leaves or after
    the server answered (then the answer is lost, as on a real timeout)."""
    queue = list(errors)
    real_fetch = venue.exchange.fetch

    async def fetch(url, method="GET", headers=None, body=None):
        op = _op_of(method, url)
        for i, (want, cls, after) in enumerate(queue):
            if want == op:
                del queue[i]
                if not after:
                    raise cls(f"injected {cls.__name__} before {method} {op}")
                await real_fetch(url, method, headers, body)
                raise cls(f"injected {cls.__name__} after {method} {op}")
        return await real_fetch(url, method, headers, body)

    venue.exchange.fetch = fetch


def event(text: str) -> None:
    """Hypothesis statistics when run under @given; nothing in the plain regression tests."""
    try:
        _event(text)
    except InvalidArgument:  # outside a generated test there are no statistics to record
        return


class Crash(BaseException):
    """The keeper process dies (not an Exception: nothing in the keeper may catch it)."""


class CrashingStore(InMemoryLegStore):
    def __init__(self, crash_at: int | None):
        super().__init__()
        self.crash_at = crash_at

    def save(self, leg):
        super().save(leg)
        if self.crash_at is not None and self.saves == self.crash_at:
            raise Crash()


def _check_invariants(engine, store, plan, initial):
    legs_ = store.load_plan("fuzz")
    assert len(legs_) == len(plan)
    assert all(leg.state.terminal for leg in legs_), [
        (leg.key, leg.state, leg.reason) for leg in legs_
    ]
    client_ids = [o.client_id for o in engine.orders.values()]
    assert len(client_ids) == len(set(client_ids)), f"duplicate orders at the venue: {client_ids}"
    assert not engine.open_orders()
    for leg in legs_:
        assert leg.filled <= leg.spec.amount
        if leg.state is OrderState.FILLED:
            assert leg.filled == sum(leg.slices)
    assert_journal_matches_venue(legs_, engine, initial)


async def _scenario(
    kind, make_venue, server, plan, faults, client, ratios, on_query, before_cancel, crash_at
):
    engine = server.engine
    initial = engine.totals()
    plan = [
        LegSpec(s.plan_id, s.leg_index, kind, s.symbol, s.side, s.amount, s.max_slippage_bps)
        for s in plan
    ]
    for op, fault in faults:
        if _speaks(kind, fault):
            engine.faults.add(op, fault)
    engine.faults.fill_ratios.extend(ratios)
    engine.faults.fills_on_query.extend(on_query)
    engine.faults.fills_before_cancel.extend(before_cancel)
    clock = FakeClock()
    store = CrashingStore(crash_at)
    cfg = fast_config(max_order_notional=D(10_000), max_replaces=2)
    # Run 1 (may crash), run 2 after a restart with faults still queued, run 3 once they are spent.
    for attempt in range(3):
        if attempt == 2:
            engine.faults.clear()
        async with make_venue(timeout_ms=600 if attempt < 2 else 10_000) as venue:
            if attempt < 2:
                inject_client_errors(venue, client if attempt == 0 else [])
            try:
                await run_plan(plan, {kind: venue}, store, cfg, sleep=clock.sleep, clock=clock)
            except Crash:
                event("keeper crashed after a journal write")
            store.crash_at = None
        if attempt == 0:
            event(
                f"unfinished legs after the faulty run: {sum(not item.state.terminal for item in store.load_plan('fuzz'))}"
            )
    legs_ = store.load_plan("fuzz")
    for leg in legs_:
        event(f"leg ended {leg.state.value}")
    event(
        f"orders resent after a proven absence: {sum(o.sends - 1 for item in legs_ for o in item.orders if o.sends > 1) > 0}"
    )
    event(f"venue orders per leg > 1: {len(engine.orders) > len(legs_)}")
    _check_invariants(engine, store, plan, initial)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=legs(),
    faults=server_faults(),
    client=client_errors(),
    ratios=st.lists(st.sampled_from(RATIOS), max_size=6),
    on_query=st.lists(st.sampled_from(RATIOS), max_size=6),
    before_cancel=st.lists(st.sampled_from(RATIOS), max_size=3),
    crash_at=st.none() | st.integers(1, 40),
)
def test_orders_under_injected_faults__no_duplicates_and_journal_matches_venue(
    exchange, plan, faults, client, ratios, on_query, before_cancel, crash_at
):
    import asyncio

    kind, server, make = exchange
    server.reset()
    asyncio.run(
        _scenario(
            kind, make, server, plan, faults, client, ratios, on_query, before_cancel, crash_at
        )
    )


def test_invariants__keeper_that_resends_without_looking_up__caught(
    binance, binance_server, monkeypatch
):
    """The duplicate check bites: a keeper that never finds its lost order places it twice."""
    import asyncio

    import pytest

    from keeper.venues.executor import LegExecutor

    async def never_found(self, leg, rec):
        return None

    monkeypatch.setattr(LegExecutor, "_lookup_until_known", never_found)
    binance_server.reset()
    plan = [LegSpec("fuzz", 0, "binance", "BTC/USDT", "sell", D("0.1"))]
    with pytest.raises(AssertionError, match="duplicate orders"):
        asyncio.run(
            _scenario(
                "binance",
                binance,
                binance_server,
                plan,
                [("place", Fault("drop_after"))],
                [],
                [],
                [],
                [],
                None,
            )
        )


def test_invariants__keeper_that_books_no_fees__caught(binance, binance_server, monkeypatch):
    """The ledger check bites: a journal without the fees from fills disagrees with the venue."""
    import asyncio

    import pytest

    from keeper.venues.executor import LegExecutor

    async def skip_fees(self, leg):
        for rec in leg.orders:
            rec.fees, rec.fees_final = (), True

    monkeypatch.setattr(LegExecutor, "_settle_fees", skip_fees)
    binance_server.reset()
    plan = [LegSpec("fuzz", 0, "binance", "BTC/USDT", "sell", D("0.1"))]
    with pytest.raises(AssertionError, match="venue .* != journal"):
        asyncio.run(_scenario("binance", binance, binance_server, plan, [], [], [], [], [], None))
