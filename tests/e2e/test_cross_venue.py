"""One plan across venues: Binance (ccxt), Alpaca and IBKR legs, each against its local server.

The on-chain batch of the issue's end-to-end rebalance joins this test when the lead's devnet
runner exists; the venue legs below run the real adapter code end to end now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from keeper.devnet.exchanges.alpaca import order_uuid
from keeper.devnet.exchanges.engine import Fault
from keeper.venues.brokers.alpaca import AlpacaVenue
from keeper.venues.brokers.ibkr import IbkrVenue
from keeper.venues.cex import CcxtVenue
from keeper.venues.dryrun import DryRunExecutor
from keeper.venues.executor import LegExecutor
from keeper.venues.legs import InMemoryLegStore, LegSpec
from keeper.venues.plan import run_plan
from keeper.venues.status import gather_positions, rows
from keeper.venues.types import OrderState
from tests.aio import FakeClock, aio, nosleep
from tests.e2e.conftest import (
    ALPACA_KEY,
    ALPACA_SECRET,
    API_KEY,
    SECRET,
    Hours,
    assert_journal_matches_venue,
    fast_config,
)

D = Decimal
MONDAY_OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)

VENUE_IDS = {"binance": str, "alpaca": order_uuid, "ibkr": str}

PLAN = [
    LegSpec("xv-1", 0, "binance", "BTC/USDT", "sell", D("0.2")),
    LegSpec("xv-1", 1, "binance", "ETH/USDT", "buy", D("3")),
    LegSpec("xv-1", 2, "alpaca", "SPY", "sell", D("30")),
    LegSpec("xv-1", 3, "alpaca", "AGG", "buy", D("100")),
    LegSpec("xv-1", 4, "ibkr", "AGG", "sell", D("120")),
    LegSpec("xv-1", 5, "ibkr", "TLT", "buy", D("90")),
]


@pytest.fixture
def servers(binance_server, alpaca_server, ibkr_server):
    for s in (binance_server, alpaca_server, ibkr_server):
        s.reset()
    ibkr_server.front.session, ibkr_server.front.accounts_queried = "connected", False
    ibkr_server.front.ask_to_confirm = ["o163"]
    ibkr_server.front._warm.clear()
    return {"binance": binance_server, "alpaca": alpaca_server, "ibkr": ibkr_server}


def _venues(servers, hours, *, read_only: bool = False):
    binance = CcxtVenue(
        "binance",
        api_key=None if read_only else API_KEY,
        secret=None if read_only else SECRET,
        base_url=servers["binance"].url,
    )
    alpaca = AlpacaVenue(
        key_id=None if read_only else ALPACA_KEY,
        secret_key=None if read_only else ALPACA_SECRET,
        base_url=servers["alpaca"].url,
        data_url=servers["alpaca"].url,
        hours=hours,
    )
    ibkr = IbkrVenue(
        base_url=f"{servers['ibkr'].url}/v1/api",
        hours=hours,
        confirm_message_ids=("o163",),
        sleep=nosleep,
        read_only=read_only,
    )
    return {"binance": binance, "alpaca": alpaca, "ibkr": ibkr}


async def _close(venues):
    for v in venues.values():
        await v.close()


def _configs(**broker):
    cex = fast_config()
    brokers = fast_config(time_in_force="day", **broker)
    return {"binance": cex, "alpaca": brokers, "ibkr": brokers}


@aio
async def test_run_plan__binance_alpaca_ibkr_legs__all_filled_and_every_ledger_exact(servers):
    initial = {name: s.engine.totals() for name, s in servers.items()}
    clock, store = FakeClock(), InMemoryLegStore()
    venues = _venues(servers, Hours(MONDAY_OPEN))
    try:
        report = await run_plan(
            PLAN, venues, store, configs=_configs(), sleep=clock.sleep, clock=clock
        )
    finally:
        await _close(venues)
    assert [leg.state for leg in sorted(report.legs, key=lambda leg: leg.spec.leg_index)] == [
        OrderState.FILLED
    ] * 6
    for name, server in servers.items():
        legs = [leg for leg in report.legs if leg.spec.venue == name]
        assert_journal_matches_venue(legs, server.engine, initial[name], VENUE_IDS[name])
    assert servers["alpaca"].engine.totals()["SPY"] == D(170) and servers["ibkr"].engine.totals()[
        "TLT"
    ] == D(90)
    # IBKR asked to confirm every order (o163, on the allowlist) and charged commission in USD.
    ibkr_legs = [leg for leg in report.legs if leg.spec.venue == "ibkr"]
    assert all(leg.fees().get("USD", 0) > 0 for leg in ibkr_legs)


@aio
async def test_run_plan__one_venue_refuses__its_leg_fails_the_others_complete(servers):
    clock, store = FakeClock(), InMemoryLegStore()
    plan = [
        *PLAN[:2],
        LegSpec("xv-2", 2, "alpaca", "SPY", "sell", D("900")),
        *PLAN[4:],
    ]  # holds 200 SPY
    plan = [LegSpec("xv-2", s.leg_index, s.venue, s.symbol, s.side, s.amount) for s in plan]
    venues = _venues(servers, Hours(MONDAY_OPEN))
    try:
        report = await run_plan(
            plan,
            venues,
            store,
            configs=_configs(max_order_notional=None),
            sleep=clock.sleep,
            clock=clock,
        )
    finally:
        await _close(venues)
    by_index = {leg.spec.leg_index: leg for leg in report.legs}
    assert by_index[2].state is OrderState.FAILED and "insufficient qty" in by_index[2].reason
    assert all(by_index[i].state is OrderState.FILLED for i in (0, 1, 4, 5))
    assert [leg.spec.leg_index for leg in report.failed] == [2]


@aio
async def test_off_hours__wait_for_open__no_broker_order_until_the_session(servers):
    clock, store = FakeClock(), InMemoryLegStore()
    for s in (servers["alpaca"], servers["ibkr"]):
        s.engine.market_open = False
    hours = Hours(SATURDAY)
    venues = _venues(servers, hours)
    try:
        report = await run_plan(
            PLAN,
            venues,
            store,
            configs=_configs(off_hours="wait_for_open"),
            sleep=clock.sleep,
            clock=clock,
        )
        waiting = [leg for leg in report.legs if leg.spec.venue != "binance"]
        assert all(
            not leg.state.terminal and "waiting for the open" in leg.reason for leg in waiting
        )
        assert servers["alpaca"].engine.orders == {} and servers["ibkr"].engine.orders == {}
        assert all(
            leg.state is OrderState.FILLED for leg in report.legs if leg.spec.venue == "binance"
        )
        # Monday: the session opens and the next cycle executes the waiting legs.
        hours.moment = MONDAY_OPEN
        for s in (servers["alpaca"], servers["ibkr"]):
            s.engine.open_market()
        report = await run_plan(
            PLAN,
            venues,
            store,
            configs=_configs(off_hours="wait_for_open"),
            sleep=clock.sleep,
            clock=clock,
        )
    finally:
        await _close(venues)
    assert all(leg.state is OrderState.FILLED for leg in report.legs)


@aio
async def test_off_hours__day_limit__orders_rest_then_fill_at_the_open(servers):
    initial = {name: s.engine.totals() for name, s in servers.items()}
    clock, store = FakeClock(), InMemoryLegStore()
    for s in (servers["alpaca"], servers["ibkr"]):
        s.engine.market_open = False
    hours = Hours(SATURDAY)
    venues = _venues(servers, hours)
    cfg = _configs(off_hours="day_limit")
    try:
        report = await run_plan(PLAN, venues, store, configs=cfg, sleep=clock.sleep, clock=clock)
        resting = [leg for leg in report.legs if leg.spec.venue != "binance"]
        assert all(
            leg.state is OrderState.ACKNOWLEDGED and "rest until the open" in leg.reason
            for leg in resting
        )
        assert all(o.is_open for o in servers["alpaca"].engine.orders.values())
        hours.moment = MONDAY_OPEN
        for s in (servers["alpaca"], servers["ibkr"]):
            s.engine.open_market()
        report = await run_plan(PLAN, venues, store, configs=cfg, sleep=clock.sleep, clock=clock)
    finally:
        await _close(venues)
    assert all(leg.state is OrderState.FILLED for leg in report.legs)
    for name, server in servers.items():
        assert_journal_matches_venue(
            [leg for leg in report.legs if leg.spec.venue == name],
            server.engine,
            initial[name],
            VENUE_IDS[name],
        )
    client_ids = [o.client_id for o in servers["alpaca"].engine.orders.values()]
    assert len(client_ids) == len(set(client_ids))


@aio
async def test_dry_run__every_venue__no_authenticated_call_nothing_placed(servers):
    venues = _venues(servers, Hours(MONDAY_OPEN), read_only=True)
    try:
        snapshot = {
            ("alpaca", "SPY"): D("450"),
            ("alpaca", "AGG"): D("98"),
            ("ibkr", "AGG"): D("98"),
            ("ibkr", "TLT"): D("92"),
        }
        preview = await DryRunExecutor(venues, fast_config()).preview(
            PLAN, reference_prices=snapshot
        )
    finally:
        await _close(venues)
    assert servers["binance"].requests, "Binance books are public: the dry run reads them"
    assert not any(r.authenticated or r.method != "GET" for r in servers["binance"].requests)
    assert servers["alpaca"].requests == []  # every Alpaca call needs keys: none was made
    assert (
        servers["ibkr"].requests == []
    )  # every gateway call rides the logged-in session: none was made
    assert all(not s.engine.orders for s in servers.values())
    by_leg = {p.leg_index for p in preview}
    assert by_leg == {0, 1, 2, 3, 4, 5}
    assert all(p.limit_price > 0 for p in preview)
    assert all(p.note and "snapshot" in p.note for p in preview if p.venue in ("alpaca", "ibkr"))


@aio
async def test_status__positions_beside_each_other__a_down_venue_is_one_line(servers):
    venues = _venues(servers, Hours(MONDAY_OPEN))
    servers["ibkr"].front.session = "logged_out"
    try:
        statuses = await gather_positions(
            {
                "binance": lambda: venues["binance"].positions("USDT"),
                "alpaca": venues["alpaca"].positions,
                "ibkr": venues["ibkr"].positions,
            },
            sleep=nosleep,
        )
    finally:
        await _close(venues)
    table = rows(statuses)
    assert {r["venue"] for r in table} == {"binance", "alpaca", "ibkr"}
    assert any(
        r["venue"] == "binance" and r["asset"] == "BTC" and r["quantity"] == D(2) for r in table
    )
    assert any(r["venue"] == "alpaca" and r["asset"] == "SPY" and r["value"] > 0 for r in table)
    [ibkr_row] = [r for r in table if r["venue"] == "ibkr"]
    assert "log in" in ibkr_row["error"]


@aio
async def test_alpaca_leg__order_placed_but_answer_timed_out__found_by_client_id_once(servers):
    alpaca_server = servers["alpaca"]
    initial = alpaca_server.engine.totals()
    alpaca_server.engine.faults.add("place", Fault("delay_after", delay_s=3.0))
    clock, store = FakeClock(), InMemoryLegStore()
    venue = AlpacaVenue(
        key_id=ALPACA_KEY,
        secret_key=ALPACA_SECRET,
        base_url=alpaca_server.url,
        data_url=alpaca_server.url,
        hours=Hours(MONDAY_OPEN),
        timeout_s=0.8,
    )
    try:
        leg = await LegExecutor(
            venue, store, fast_config(time_in_force="day"), sleep=clock.sleep, clock=clock
        ).run(LegSpec("xv-3", 0, "alpaca", "SPY", "buy", D("10")))
    finally:
        await venue.close()
    assert leg.state is OrderState.FILLED and len(alpaca_server.engine.orders) == 1
    posts = [r for r in alpaca_server.requests if r.method == "POST"]
    assert len(posts) == 1
    assert_journal_matches_venue([leg], alpaca_server.engine, initial, order_uuid)
