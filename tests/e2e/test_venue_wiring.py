"""The keeper's exchange and broker venues wired end to end, against the local servers.

Configs shaped like examples/keeper.yaml are read through the factory's real readers (credentials
and base URLs from the environment), planned by the core, previewed by the dry run and executed
by `execute_venue_trades` with the SQLite journal as the leg store: targets are reached on the
venue side, a crash between legs is recovered with zero duplicate orders, the dry run makes no
authenticated call, earlier plans' live orders block a venue, and no secret reaches a log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from click.testing import CliRunner

from keeper import secrets
from keeper.cli import main
from keeper.cli.devnet import venues_env
from keeper.config.loader import load_config, load_config_text
from keeper.core.drift import Status, compute_drift
from keeper.core.planner import decide
from keeper.core.spec import Cadence
from keeper.core.strategies import RunContext
from keeper.devnet.artifacts import REPO_ROOT
from keeper.devnet.devnet import devnet_dir
from keeper.devnet.exchanges import LocalVenues
from keeper.devnet.exchanges.alpaca import order_uuid
from keeper.errors import ConfigError
from keeper.execution.venue_legs import (
    execute_venue_trades,
    execute_venue_trades_async,
)
from keeper.store.journal import Journal
from keeper.store.legs import JournalLegStore
from keeper.venues.base import read_snapshot
from keeper.venues.connect import close_venues, open_order_venues
from keeper.venues.factory import make_readers
from keeper.venues.retry import RetryPolicy
from keeper.venues.types import OrderState
from tests.aio import FakeClock
from tests.e2e.conftest import Hours, assert_journal_matches_venue

D = Decimal
EXAMPLE = REPO_ROOT / "examples" / "keeper.yaml"
MONDAY_OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=4.0)

# Shaped like examples/keeper.yaml, venue side only: each venue can reach its targets with its
# own cash (USD targets that add up to what each venue holds on the local servers).
VENUES_ONLY = """
version: 1
treasury: {name: Venue treasury}
venues:
  binance: {kind: cex, exchange: binance, credentials_env: BINANCE_, quote: USDT, fee_bps: 10, slippage_bps: 5, min_trade: "$100"}
  alpaca: {kind: broker, broker: alpaca, credentials_env: ALPACA_, quote: USD, fee_bps: 0, slippage_bps: 5, min_trade: "$1,000"}
classes:
  crypto:
    assets:
      BTC: {target: "$90,000", holdings: [{venue: binance, symbol: BTC, decimals: 8}]}
      ETH: {target: "$110,000", holdings: [{venue: binance, symbol: ETH, decimals: 8}]}
  etfs:
    assets:
      SPY: {target: "$150,000", holdings: [{venue: alpaca, symbol: SPY, decimals: 9}]}
      AGG: {target: "$30,000", holdings: [{venue: alpaca, symbol: AGG, decimals: 9}]}
  cash:
    cash: true
    assets:
      USDT: {target: "$80,000", holdings: [{venue: binance, symbol: USDT, decimals: 8}]}
      USD: {target: "$209,000", price: {fixed: 1}, holdings: [{venue: alpaca, symbol: USD, decimals: 2}]}
execution: {split_orders_above: "$25,000"}
"""


@pytest.fixture(scope="module")
def local():
    with LocalVenues() as venues:
        yield venues


@pytest.fixture
def env(local, monkeypatch):
    """The local servers, reset, and the environment that points the configs at them."""
    for server in (local.binance, local.okx, local.alpaca, local.ibkr):
        server.reset()
    front = local.ibkr.front
    front.session, front.accounts_queried, front.ask_to_confirm = "authenticated", False, []
    front._warm.clear()
    values = venues_env(local)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    yield values
    secrets.forget_all()


def servers(local):
    return {"binance": local.binance, "alpaca": local.alpaca, "ibkr": local.ibkr}


def venues_config(tmp_path, text=VENUES_ONLY):
    return load_config_text(text, tmp_path / "keeper.yaml")


def read_and_plan(loaded, now=None):
    now = now or int(time.time())
    snap, _ = read_snapshot(make_readers(loaded), loaded.spec, now)
    decision = decide(loaded.spec, snap, RunContext(now=now, scheduled=True, cadence=Cadence.DAILY))
    return snap, decision


def example_with_ibkr(tmp_path):
    """examples/keeper.yaml with the devnet's address book, plus an IBKR account holding AGG."""
    text = EXAMPLE.read_text().replace(
        "../.devnet/addresses.json", str(devnet_dir() / "addresses.json")
    )
    text = text.replace(
        "  alpaca:\n    kind: broker",
        "  ibkr:\n    kind: broker\n    broker: ibkr\n    quote: USD\n  alpaca:\n    kind: broker",
    )
    text = text.replace(
        "holdings: [{venue: alpaca, symbol: AGG, decimals: 9}]",
        "holdings: [{venue: alpaca, symbol: AGG, decimals: 9}, {venue: ibkr, symbol: AGG, id: ibkr-agg}]",
    )
    text = text.replace(
        "holdings: [{venue: alpaca, symbol: USD, decimals: 2}]",
        "holdings: [{venue: alpaca, symbol: USD, decimals: 2}, {venue: ibkr, symbol: USD, decimals: 2, id: ibkr-usd}]",
    )
    path = tmp_path / "keeper.yaml"
    path.write_text(text)
    return path


def cli(*args):
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "220"}, catch_exceptions=False)


# -- status and preview of the example config -------------------------------------------------


def test_status__example_config_on_local_venues__chain_exchange_broker_side_by_side(
    devnet, env, local, tmp_path, monkeypatch
):
    monkeypatch.setenv("KEEPER_RPC_DEVNET", devnet.url)
    r = cli("status", "--config", str(example_with_ibkr(tmp_path)))
    assert r.exit_code == 0, r.output
    table = r.output.split("Holdings by venue")[1]
    rows = {line.split("│")[2].strip(): line for line in table.splitlines() if line.count("│") > 5}
    assert "binance BTC/USDT mid" in rows["binance:BTC"] and "$120,000.00" in rows["binance:BTC"]
    assert "$90,000.00" in rows["alpaca:SPY"] and "$49,000.00" in rows["ibkr-agg"]
    assert "devnet:WBTC" in rows and "feed" in rows["devnet:WBTC"]
    for server in servers(local).values():
        assert server.requests and all(
            r.method == "GET" or "auth" in r.path for r in server.requests
        )


def test_preview__example_config_on_local_venues__orders_per_venue_nothing_sent(
    devnet, env, local, tmp_path, monkeypatch
):
    monkeypatch.setenv("KEEPER_RPC_DEVNET", devnet.url)
    r = cli("rebalance", "preview", "--config", str(example_with_ibkr(tmp_path)), "--off-schedule")
    assert r.exit_code == 0, r.output
    assert "Orders on alpaca (dry run: nothing sent)" in r.output
    orders = r.output.split("Orders on alpaca")[1]
    assert "SPY" in orders and "1/1" in orders and "priced from the snapshot" in orders
    for name, server in servers(local).items():
        assert not server.engine.orders, f"{name} received an order"
        assert all(req.method == "GET" or "auth" in req.path for req in server.requests), name
    # the only authenticated Alpaca calls are the snapshot's account reads; the dry run made none
    assert {req.path for req in local.alpaca.requests} <= {
        "/v2/account",
        "/v2/positions",
        "/v2/stocks/QQQ/quotes/latest",
        "/v2/stocks/VGT/quotes/latest",
    }


def test_preview__static_holdings__venue_orders_not_previewed_and_no_venue_touched(env, local):
    r = cli(
        "rebalance",
        "preview",
        "--config",
        str(EXAMPLE),
        "--static",
        str(REPO_ROOT / "examples" / "demo-holdings.yaml"),
        "--now",
        "1717405200",
    )
    assert r.exit_code == 0, r.output
    assert "not previewed with --static" in r.output
    assert all(not s.requests for s in servers(local).values())


# -- the dry run ------------------------------------------------------------------------------


def test_execute_venue_trades__dry_run__no_authenticated_call_and_nothing_placed(
    env, local, tmp_path
):
    loaded = venues_config(tmp_path)
    _, decision = read_and_plan(loaded)
    for server in servers(local).values():
        server.reset()
    report = execute_venue_trades(decision.plan, loaded, None, send=False)
    assert {o.venue for o in report.preview} == {"binance", "alpaca"}
    assert any(o.slices > 1 for o in report.preview)  # the SPY buy is split above $25,000
    assert all(o.limit_price > 0 and o.fee >= 0 for o in report.preview)
    assert local.binance.requests and not any(r.authenticated for r in local.binance.requests)
    assert all(r.method == "GET" for r in local.binance.requests)
    assert local.alpaca.requests == []
    assert all(not s.engine.orders for s in servers(local).values())


def test_execute_venue_trades_async__dry_run_with_armed_adapters__refused(env, local, tmp_path):
    loaded = venues_config(tmp_path)
    _, decision = read_and_plan(loaded)

    async def run():
        venues = open_order_venues(loaded, ["binance", "alpaca"], send=True)
        try:
            await execute_venue_trades_async(decision.plan, loaded, None, venues=venues, send=False)
        finally:
            await close_venues(venues)

    with pytest.raises(ConfigError, match="hold credentials"):
        asyncio.run(run())


# -- real runs --------------------------------------------------------------------------------


def run_send(plan, loaded, journal, *, hours, cycle=None, wrap=None, clock=None):
    """execute_venue_trades_async with adapters from the config (and the environment)."""
    clock = clock or FakeClock()

    async def run():
        venues = open_order_venues(loaded, {t.venue for t in plan.trades}, send=True, hours=hours)
        if wrap:
            venues = wrap(venues)
        try:
            return await execute_venue_trades_async(
                plan,
                loaded,
                journal,
                venues=venues,
                send=True,
                cycle=cycle,
                retry=FAST,
                sleep=clock.sleep,
                clock=clock,
            )
        finally:
            await close_venues(venues)

    return asyncio.run(run())


def test_execute_venue_trades__binance_and_alpaca__targets_reached_and_journal_matches(
    env, local, tmp_path
):
    loaded = venues_config(tmp_path)
    snap, decision = read_and_plan(loaded)
    plan = decision.plan
    assert {t.venue for t in plan.trades} == {"binance", "alpaca"} and not plan.shortfalls
    initial = {name: s.engine.totals() for name, s in servers(local).items()}
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        report = run_send(plan, loaded, journal, hours=Hours(MONDAY_OPEN))
        stored = JournalLegStore(journal).load_plan(report.plan_id)
    finally:
        journal.close()
    assert [leg.state for leg in report.legs] == [OrderState.FILLED] * len(plan.trades)
    assert [leg.to_dict() for leg in stored] == [leg.to_dict() for leg in report.legs]
    for name, venue_id in (("binance", str), ("alpaca", order_uuid)):
        legs = [leg for leg in report.legs if leg.spec.venue == name]
        assert_journal_matches_venue(legs, servers(local)[name].engine, initial[name], venue_id)
    # read the venues again: every asset is back inside its band
    after, _ = read_snapshot(make_readers(loaded), loaded.spec, int(time.time()))
    drift = compute_drift(loaded.spec, after)
    assert {row.name: row.status for row in drift.assets} == {
        name: Status.WITHIN for name in ("AGG", "BTC", "ETH", "SPY", "USD", "USDT")
    }
    assert (
        sum(1 for o in servers(local)["alpaca"].engine.orders.values() if o.symbol == "SPY/USD")
        == 3
    )


def test_execute_venue_trades__same_plan_run_twice__second_run_places_nothing(env, local, tmp_path):
    loaded = venues_config(tmp_path)
    _, decision = read_and_plan(loaded)
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        first = run_send(decision.plan, loaded, journal, hours=Hours(MONDAY_OPEN))
        posts = {
            name: len([r for r in s.requests if r.method == "POST"])
            for name, s in servers(local).items()
        }
        again = run_send(decision.plan, loaded, journal, hours=Hours(MONDAY_OPEN))
    finally:
        journal.close()
    assert again.plan_id == first.plan_id
    assert [leg.to_dict() for leg in again.legs] == [leg.to_dict() for leg in first.legs]
    assert posts == {
        name: len([r for r in s.requests if r.method == "POST"])
        for name, s in servers(local).items()
    }


class Crash(BaseException):
    """The process dies here (not an error anything may catch)."""


class CrashAfterPlacing:
    """A venue whose `place` reaches the exchange, then the keeper dies before hearing back."""

    def __init__(self, venue, at_leg):
        self._venue, self._at = venue, f"l{at_leg}s"

    def __getattr__(self, name):
        return getattr(self._venue, name)

    async def place(self, req):
        status = await self._venue.place(req)
        if self._at in req.client_id:
            raise Crash(req.client_id)
        return status


class CrashBeforeLeg(JournalLegStore):
    """A journal that dies the first time it is asked to record leg `index` (before its order)."""

    def __init__(self, journal, index):
        super().__init__(journal)
        self.index = index

    def save(self, leg):
        if leg.spec.leg_index == self.index:
            raise Crash(f"before leg {self.index}")
        super().save(leg)


CRYPTO_ONLY = (
    VENUES_ONLY.split("  etfs:")[0].replace(
        '  alpaca: {kind: broker, broker: alpaca, credentials_env: ALPACA_, quote: USD, fee_bps: 0, slippage_bps: 5, min_trade: "$1,000"}\n',
        "",
    )
    + """  cash:
    cash: true
    assets:
      USDT: {target: "$80,000", holdings: [{venue: binance, symbol: USDT, decimals: 8}]}
execution: {split_orders_above: "$25,000"}
"""
)


@pytest.mark.parametrize("crash", ["after_placing_leg_1", "before_leg_1"])
def test_execute_venue_trades__crash_between_legs__recovered_from_journal_no_duplicate_order(
    env, local, tmp_path, crash
):
    loaded = venues_config(tmp_path, CRYPTO_ONLY)
    _, decision = read_and_plan(loaded)
    plan = decision.plan
    assert [(t.step, t.sell_asset, t.buy_asset) for t in plan.trades] == [
        (0, "BTC", "USDT"),
        (1, "USDT", "ETH"),
    ]
    initial = local.binance.engine.totals()
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    with pytest.raises(Crash):
        if crash == "after_placing_leg_1":
            run_send(
                plan,
                loaded,
                journal,
                hours=None,
                wrap=lambda v: {**v, "binance": CrashAfterPlacing(v["binance"], 1)},
            )
        else:
            run_send(plan, loaded, CrashBeforeLeg(journal, 1), hours=None)
    journal.close()
    placed_before = [o.client_id for o in local.binance.engine.orders.values()]
    # a new process: the journal file is all that is left
    journal = Journal(path)
    try:
        unfinished = JournalLegStore(journal).load_unfinished()
        report = run_send(plan, loaded, journal, hours=None)
    finally:
        journal.close()
    if crash == "after_placing_leg_1":
        assert [leg.spec.leg_index for leg in unfinished] == [1]  # its order's fate was unknown
        assert [leg.spec.leg_index for leg in report.recovered] == [1]
        assert report.recovered[0].orders[0].state is not OrderState.SENT  # found by client id
    else:
        assert unfinished == [] and all("l0s" in cid for cid in placed_before)  # leg 0's only
    assert [leg.state for leg in report.legs] == [OrderState.FILLED, OrderState.FILLED]
    client_ids = [o.client_id for o in local.binance.engine.orders.values()]
    assert len(client_ids) == len(set(client_ids))
    posts = Counter(
        {**r.query, **dict(parse_qsl(r.body.decode()))}["newClientOrderId"]
        for r in local.binance.requests
        if r.method == "POST"
    )
    assert sorted(posts) == sorted(client_ids) and set(posts.values()) == {1}
    assert_journal_matches_venue(report.legs, local.binance.engine, initial)


def test_execute_venue_trades__crash_then_a_journal_without_the_legs__duplicate_orders(
    env, local, tmp_path
):
    """The broken variant of the crash test: restarted on an empty journal (as a keeper without
    one would be), the same plan sells and buys again."""
    loaded = venues_config(tmp_path, CRYPTO_ONLY)
    _, decision = read_and_plan(loaded)
    journal, empty = Journal(tmp_path / "journal.sqlite"), Journal(tmp_path / "lost.sqlite")
    try:
        with pytest.raises(Crash):
            run_send(
                decision.plan,
                loaded,
                journal,
                hours=None,
                wrap=lambda v: {**v, "binance": CrashAfterPlacing(v["binance"], 1)},
            )
        run_send(decision.plan, loaded, empty, hours=None)
    finally:
        journal.close()
        empty.close()
    client_ids = Counter(o.client_id for o in local.binance.engine.orders.values())
    assert max(client_ids.values()) > 1  # the same sell went to the exchange twice


def test_execute_venue_trades__earlier_plan_has_live_day_orders__venue_blocked_nothing_placed(
    env, local, tmp_path
):
    loaded = venues_config(
        tmp_path, VENUES_ONLY.replace("execution: {", "execution: {off_hours: day_limit, ")
    )
    _, decision = read_and_plan(loaded)
    local.alpaca.engine.market_open = False
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        first = run_send(decision.plan, loaded, journal, hours=Hours(SATURDAY), cycle=1)
        resting = len(local.alpaca.engine.orders)
        second = run_send(decision.plan, loaded, journal, hours=Hours(SATURDAY), cycle=2)
    finally:
        journal.close()
    alpaca_first = [leg for leg in first.legs if leg.spec.venue == "alpaca"]
    assert resting > 0 and all(leg.state is OrderState.ACKNOWLEDGED for leg in alpaca_first)
    assert second.plan_id != first.plan_id
    alpaca_second = [leg for leg in second.legs if leg.spec.venue == "alpaca"]
    assert all(
        leg.reason.startswith("not started: alpaca still has live orders") for leg in alpaca_second
    )
    assert first.plan_id in alpaca_second[0].reason
    assert len(local.alpaca.engine.orders) == resting


def test_execute_venue_trades__earlier_plan_waited_for_the_open__superseded_not_resent(
    env, local, tmp_path
):
    loaded = venues_config(tmp_path)  # off_hours: wait_for_open (the default)
    _, decision = read_and_plan(loaded)
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        first = run_send(decision.plan, loaded, journal, hours=Hours(SATURDAY), cycle=1)
        second = run_send(decision.plan, loaded, journal, hours=Hours(MONDAY_OPEN), cycle=2)
        old = JournalLegStore(journal).load_plan(first.plan_id)
    finally:
        journal.close()
    waiting = [leg for leg in old if leg.spec.venue == "alpaca"]
    assert waiting and all(
        leg.state is OrderState.CANCELLED and "superseded" in leg.reason for leg in waiting
    )
    assert all(leg.state is OrderState.FILLED for leg in second.legs)
    assert any("superseded" in note for note in second.notes)
    client_ids = [o.client_id for o in local.alpaca.engine.orders.values()]
    assert all(
        second.legs[0].orders[0].client_id[:13] == cid[:13] for cid in client_ids
    )  # all plan 2's


def test_execute_venue_trades__enabled_false__refused_before_any_order(env, local, tmp_path):
    loaded = venues_config(tmp_path, "enabled: false\n" + VENUES_ONLY)
    _, decision = read_and_plan(loaded)
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        with pytest.raises(ConfigError, match="enabled is false"):
            run_send(decision.plan, loaded, journal, hours=Hours(MONDAY_OPEN))
    finally:
        journal.close()
    assert all(not s.engine.orders for s in servers(local).values())


# -- secrets ----------------------------------------------------------------------------------


def test_secrets__status_preview_and_a_real_run_at_debug__no_key_anywhere(
    env, local, tmp_path, caplog, monkeypatch
):
    planted = [v for k, v in env.items() if "_API_" in k]
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "keeper.yaml"
    path.write_text(VENUES_ONLY)
    outputs = [
        cli("-vv", "status", "--config", str(path)).output,
        cli("-vv", "rebalance", "preview", "--config", str(path)).output,
    ]
    loaded = load_config(path)
    _, decision = read_and_plan(loaded)
    local.binance.engine.faults.add(
        "place",
        __import__("keeper.devnet.exchanges.engine", fromlist=["Fault"]).Fault(
            "status", status=429, reason="rate_limit", retry_after_s=1
        ),
    )
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        report = run_send(decision.plan, loaded, journal, hours=Hours(MONDAY_OPEN))
    finally:
        journal.close()
    monkeypatch.setenv("BINANCE_BASE_URL", "http://127.0.0.1:9")  # nothing listens: errors logged
    outputs.append(cli("-vv", "status", "--config", str(path)).output)
    stored = (tmp_path / "journal.sqlite").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("journal.sqlite-*")
    )
    texts = [caplog.text, *outputs, "\n".join(report.lines()), stored.decode("latin-1")]
    assert "binance:" in outputs[-1] and "balance read failed" in outputs[-1]
    assert any(
        "429" in record.getMessage() or "retry" in record.getMessage() for record in caplog.records
    )
    for value in planted:
        for text in texts:
            assert value not in text


def test_devnet_venues_command__runs_and_stops__env_file_written_then_removed(tmp_path):
    env_file = tmp_path / "venues.env"
    r = cli("devnet", "venues", "--env-file", str(env_file), "--exit-after", "0")
    assert r.exit_code == 0, r.output
    assert f"source {env_file}" in r.output.replace("\n", "") and "local venues stopped" in r.output
    assert not env_file.exists()  # the throwaway keys do not outlive the servers


def test_status__keys_not_in_environment__one_line_naming_them_and_exit_2(
    env, local, tmp_path, monkeypatch
):
    path = tmp_path / "keeper.yaml"
    path.write_text(VENUES_ONLY)
    for key in ("ALPACA_API_KEY", "ALPACA_API_SECRET"):
        monkeypatch.delenv(key)
    r = cli("status", "--config", str(path))
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and r.output.startswith(
        "error: venue alpaca: set ALPACA_API_KEY and ALPACA_API_SECRET in the environment"
    )
    assert all(not s.requests for s in servers(local).values())
