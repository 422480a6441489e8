"""Executing legs on exchanges and brokers: the per-venue state machine, recovery and dry run.

This module owns how one leg becomes filled orders on one venue, safely:

1. The leg is loaded from the `LegStore` (or created) and saved before every request that can
   change anything at the venue, so a crash at any point leaves a record of intent.
2. Orders left non-terminal by an earlier run are reconciled first, by client id, before any
   new placement (crash recovery is the same code path as a normal run).
3. The leg is split into slices once (persisted, so a restart reuses the same client ids); each
   slice is sent as a limit order priced from the book with the configured slippage, polled,
   cancelled when stale and replaced at a fresh price, up to `max_replaces` times.
4. A placement whose outcome is unknown is looked up by client id; it is only resent (with the
   same client id) after the venue proved it never received it.
5. Fees come from the venue's fills.

`recover` reconciles every unfinished leg of a journal with its venue after a crash. A whole
cross-venue plan is `plan.run_plan`; the dry run is `dryrun.DryRunExecutor`. Nothing here knows
a wire format; venues implement `OrderVenue`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol, TypeVar

from keeper.errors import (
    ConfigError,
    ExecutionReverted,
    HaltError,
    KeeperError,
    NotAvailable,
    ReconcileError,
    TemporaryError,
)
from keeper.secrets import redact
from keeper.venues import sizing
from keeper.venues.legs import LegSpec, LegState, LegStore, OrderRecord, client_order_id
from keeper.venues.retry import RetryPolicy, Sleep, with_retries
from keeper.venues.types import (
    ZERO,
    Balance,
    Book,
    Fee,
    Fill,
    MarketRules,
    OrderRequest,
    OrderState,
    OrderStatus,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


class OrderVenue(Protocol):
    """What the executor needs from an exchange or broker adapter (cex.CcxtVenue, brokers/*)."""

    name: str

    async def rules(self, symbol: str) -> MarketRules: ...

    async def book(self, symbol: str, depth: int = 20) -> Book: ...

    async def balances(self) -> list[Balance]: ...

    async def taker_fee(self, symbol: str) -> Decimal: ...

    async def is_open(self) -> bool:
        """Whether the venue's market is in session now (always True for crypto)."""
        ...

    async def place(self, req: OrderRequest) -> OrderStatus: ...

    async def lookup(self, symbol: str, client_id: str) -> OrderStatus | None: ...

    async def cancel(
        self, symbol: str, client_id: str, venue_order_id: str | None
    ) -> OrderStatus | None: ...

    async def fills(self, symbol: str, venue_order_id: str, client_id: str) -> list[Fill]: ...


OffHours = Literal["wait_for_open", "day_limit"]


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """How legs are worked. Seconds for times, quote units for notionals."""

    max_order_notional: Decimal | None = Decimal(10_000)  # split larger orders (seed 001: $10k)
    poll_interval_s: float = 1.0
    stale_after_s: float = 30.0  # cancel and replace an order still open after this long
    max_replaces: int = 3  # per slice, after the first order
    reconcile_lookups: int = 2  # lookups that must all miss before a resend
    time_in_force: str = "gtc"
    off_hours: OffHours = "wait_for_open"  # brokers, outside market hours
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class _StopLeg(Exception):
    """Internal: stop working the leg (not an error); `reason` goes into the leg state."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LegExecutor:
    """Works legs on one venue. Safe to call `run` again on the same leg after any failure or crash."""

    def __init__(
        self,
        venue: OrderVenue,
        store: LegStore,
        config: ExecutionConfig | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.venue = venue
        self.store = store
        self.config = config or ExecutionConfig()
        self.sleep = sleep
        self.clock = clock

    # -- public --------------------------------------------------------------------------------

    async def run(self, spec: LegSpec) -> LegState:
        """Work `spec` to a terminal state if possible; return the leg as stored.

        A leg whose outcome cannot be established (the venue stays unreachable while an order's
        fate is unknown) is returned non-terminal with `reason` set; calling `run` again later
        reconciles it first. `HaltError` and non-keeper exceptions propagate.
        """
        leg = self.store.load(spec.plan_id, spec.leg_index)
        if leg is None:
            leg = LegState(spec=spec)
            self._save(leg)
        if leg.state.terminal:
            return leg
        try:
            await self._work(leg)
        except HaltError:
            raise
        except _StopLeg as stop:
            leg.reason = stop.reason
            self._finish(leg)
        except KeeperError as e:
            self._interrupted(leg, e)
        self._save(leg)
        return leg

    async def reconcile(self, leg: LegState) -> LegState:
        """Bring every non-terminal order of a stored leg up to date from the venue; place nothing.

        An order sent but not found stays `sent`: only `run` may resend it (same client id).
        """
        for rec in leg.orders:
            if rec.state == OrderState.SENT:
                status = await self._lookup_until_known(leg, rec)
                if status is None:
                    leg.notes.append(
                        f"{rec.client_id}: not found at the venue; run resends it with the same id"
                    )
                else:
                    self._apply(rec, status)
            elif rec.state in (OrderState.ACKNOWLEDGED, OrderState.PARTLY_FILLED):
                status = await self._retry(
                    f"look up {rec.client_id}",
                    lambda r=rec: self.venue.lookup(leg.spec.symbol, r.client_id),
                )
                if status is None:
                    raise ReconcileError(
                        f"{self.venue.name}: order {rec.client_id} vanished from the venue"
                    )
                self._apply(rec, status)
            self._save(leg)
        await self._settle_fees(leg)
        if leg.open_orders() or leg.orders:
            leg.state = leg.working_state()
        self._save(leg)
        return leg

    # -- the state machine ---------------------------------------------------------------------

    async def _work(self, leg: LegState) -> None:
        spec = leg.spec
        rules = await self._retry(f"rules of {spec.symbol}", lambda: self.venue.rules(spec.symbol))
        market_open = await self._retry("market hours", self.venue.is_open)
        # 1. Orders an earlier run left unsent, unknown or open: settle them before anything new.
        for rec in leg.orders:
            if rec.state == OrderState.PLANNED:
                # Journaled but never sent (a crash in between): its price is stale; drop it.
                rec.move(OrderState.FAILED)
                rec.reason = "never sent (interrupted before sending)"
                self._save(leg)
            if rec.state == OrderState.SENT:
                await self._send(leg, rec)
            if rec.state in (OrderState.ACKNOWLEDGED, OrderState.PARTLY_FILLED) and market_open:
                await self._follow(leg, rec)
        await self._settle_fees(leg)
        # 2. Off-hours policy (brokers): wait for the open, or rest day limit orders now.
        if not market_open and self.config.off_hours == "wait_for_open":
            leg.reason = f"{self.venue.name}: market closed; waiting for the open"
            leg.state = leg.working_state()
            self._save(leg)
            return
        # 3. Slices, decided once and stored, so a restart reuses the same client ids.
        if not leg.slices:
            book = await self._retry(f"book {spec.symbol}", lambda: self.venue.book(spec.symbol))
            price = sizing.limit_price(book, spec.side, spec.max_slippage_bps, rules.tick)
            if price is None:
                side = "asks" if spec.side == "buy" else "bids"
                raise _StopLeg(f"{self.venue.name}: no {side} on {spec.symbol}")
            leg.slices = sizing.slice_amounts(
                spec.amount, price, self.config.max_order_notional, rules
            )
            if not leg.slices:
                why = sizing.tradable(sizing.round_down(spec.amount, rules.step), price, rules)
                raise _StopLeg(f"{self.venue.name}: leg too small to trade: {why}")
            self._save(leg)
        # 4. Work each slice.
        for index, amount in enumerate(leg.slices):
            await self._work_slice(leg, rules, index, amount, follow=market_open)
        if not market_open and leg.open_orders():
            leg.reason = f"{self.venue.name}: market closed; day limit orders rest until the open"
        self._finish(leg)

    async def _work_slice(
        self, leg: LegState, rules: MarketRules, index: int, amount: Decimal, *, follow: bool
    ) -> None:
        spec = leg.spec
        while True:
            orders = leg.orders_for_slice(index)
            if any(not o.state.terminal for o in orders):
                return  # a day order resting off-hours; a later run follows it
            remaining = sizing.round_down(
                amount - sum((o.filled for o in orders), ZERO), rules.step
            )
            if remaining <= 0:
                return
            attempt = len(orders)
            if attempt > self.config.max_replaces:
                leg.notes.append(f"slice {index}: {remaining} left after {attempt} orders")
                return
            book = await self._retry(f"book {spec.symbol}", lambda: self.venue.book(spec.symbol))
            price = sizing.limit_price(book, spec.side, spec.max_slippage_bps, rules.tick)
            if price is None:
                raise _StopLeg(
                    f"{self.venue.name}: the {spec.symbol} book is empty on the side we need"
                )
            if sizing.worse_than(price, spec.worst_price, spec.side):
                raise _StopLeg(
                    f"{self.venue.name}: {spec.symbol} moved past the worst price {spec.worst_price} (now {price})"
                )
            why = sizing.tradable(remaining, price, rules)
            if why is not None:
                leg.notes.append(f"slice {index}: stopped, {why}")
                return
            rec = OrderRecord(
                client_id=client_order_id(spec.plan_id, spec.leg_index, index, attempt),
                slice_index=index,
                attempt=attempt,
                amount=remaining,
                limit_price=price,
            )
            leg.orders.append(rec)
            leg.state = leg.working_state()
            self._save(leg)  # intent first
            await self._send(leg, rec)
            if rec.state in (OrderState.ACKNOWLEDGED, OrderState.PARTLY_FILLED):
                if not follow:
                    return
                await self._follow(leg, rec)
            await self._settle_fees(leg)
            if rec.state == OrderState.FAILED:
                raise ExecutionReverted(rec.reason or "order refused", reason=rec.reason)

    async def _send(self, leg: LegState, rec: OrderRecord) -> None:
        """Get `rec` to the venue exactly once: look up before every resend."""
        spec = leg.spec
        if rec.state == OrderState.SENT:  # an earlier request's fate is unknown
            status = await self._lookup_until_known(leg, rec)
            if status is not None:
                self._apply(rec, status)
                self._save(leg)
                return
        req = OrderRequest(
            venue=self.venue.name,
            symbol=spec.symbol,
            side=spec.side,
            amount=rec.amount,
            limit_price=rec.limit_price,
            client_id=rec.client_id,
            time_in_force="day"
            if self.config.time_in_force == "day"
            else self.config.time_in_force,
        )
        attempt = 0
        while True:
            attempt += 1
            if rec.state == OrderState.PLANNED:
                rec.move(OrderState.SENT)
            rec.sends += 1
            leg.state = leg.working_state()
            self._save(leg)
            try:
                status = await self.venue.place(req)
            except ReconcileError as e:
                log.warning(
                    "%s: placing %s: outcome unknown (%s); looking it up",
                    self.venue.name,
                    rec.client_id,
                    e.one_line(),
                )
                status = await self._lookup_until_known(leg, rec)
                if status is None:
                    if attempt >= self.config.retry.max_attempts:
                        raise ReconcileError(
                            f"{self.venue.name}: {rec.client_id} not found after {attempt} sends"
                        ) from e
                    continue  # proven absent: send again, same client id
            except TemporaryError as e:  # refused before execution (429, 418, clock, maintenance)
                if attempt >= self.config.retry.max_attempts:
                    rec.move(OrderState.FAILED)
                    rec.reason = f"not placed: {e.one_line()}"
                    self._save(leg)
                    raise
                wait = self.config.retry.delay(attempt, e)
                if wait > self.config.retry.max_retry_after_s:
                    rec.move(OrderState.FAILED)
                    rec.reason = f"not placed: {e.one_line()}"
                    self._save(leg)
                    raise
                log.warning(
                    "%s: placing %s: %s; retry %d in %.2fs",
                    self.venue.name,
                    rec.client_id,
                    e.one_line(),
                    attempt,
                    wait,
                )
                await self.sleep(wait)
                continue
            except (ExecutionReverted, ConfigError, NotAvailable) as e:
                rec.move(OrderState.FAILED)
                rec.reason = redact(e.one_line())
                self._save(leg)
                if isinstance(e, ExecutionReverted):
                    return
                raise
            self._apply(rec, status)
            self._save(leg)
            return

    async def _lookup_until_known(self, leg: LegState, rec: OrderRecord) -> OrderStatus | None:
        """The order with `rec`'s client id, or None after `reconcile_lookups` misses in a row."""
        for miss in range(self.config.reconcile_lookups):
            status = await self._retry(
                f"look up {rec.client_id}",
                lambda: self.venue.lookup(leg.spec.symbol, rec.client_id),
            )
            if status is not None:
                return status
            if miss + 1 < self.config.reconcile_lookups:
                await self.sleep(self.config.poll_interval_s)
        return None

    async def _follow(self, leg: LegState, rec: OrderRecord) -> None:
        """Poll an open order until it is done; cancel it when stale (not when it rests off-hours)."""
        symbol = leg.spec.symbol
        started = self.clock()
        while not rec.state.terminal:
            if self.clock() - started >= self.config.stale_after_s:
                await self._cancel(leg, rec)
                break
            await self.sleep(self.config.poll_interval_s)
            status = await self._retry(
                f"look up {rec.client_id}", lambda: self.venue.lookup(symbol, rec.client_id)
            )
            if status is None:
                raise ReconcileError(
                    f"{self.venue.name}: open order {rec.client_id} is no longer known to the venue"
                )
            self._apply(rec, status)
            leg.state = leg.working_state()
            self._save(leg)

    async def _cancel(self, leg: LegState, rec: OrderRecord) -> None:
        symbol = leg.spec.symbol
        for _ in range(self.config.retry.max_attempts):
            try:
                status = await with_retries(
                    lambda: self.venue.cancel(symbol, rec.client_id, rec.venue_order_id),
                    self.config.retry,
                    what=f"{self.venue.name}: cancel {rec.client_id}",
                    sleep=self.sleep,
                )
            except ReconcileError:
                status = None  # gone already, or the answer was lost: read the truth back
            if status is None or not status.state.terminal:
                status = await self._retry(
                    f"look up {rec.client_id}", lambda: self.venue.lookup(symbol, rec.client_id)
                )
                if status is None:
                    raise ReconcileError(
                        f"{self.venue.name}: order {rec.client_id} vanished while cancelling"
                    )
            self._apply(rec, status)
            self._save(leg)
            if rec.state.terminal:
                return
        raise ReconcileError(
            f"{self.venue.name}: order {rec.client_id} still open after cancelling"
        )

    async def _settle_fees(self, leg: LegState) -> None:
        """Read fees (and exact costs) from the fills of every finished order that traded."""
        for rec in leg.orders:
            if rec.state.terminal and rec.filled > 0 and not rec.fees_final and rec.venue_order_id:
                fills = await self._retry(
                    f"fills of {rec.client_id}",
                    lambda r=rec: self.venue.fills(
                        leg.spec.symbol, r.venue_order_id or "", r.client_id
                    ),
                )
                fees: dict[str, Decimal] = {}
                for f in fills:
                    if f.fee is not None:
                        fees[f.fee.asset] = fees.get(f.fee.asset, ZERO) + f.fee.amount
                if not fees and rec.fees:
                    fees = {
                        f.asset: f.amount for f in rec.fees
                    }  # the venue reports fees on the order only
                if fills and sum((f.amount for f in fills), ZERO) == rec.filled:
                    # The fills' exact prices beat amount x average price (brokers round the average).
                    rec.cost = sum((f.cost for f in fills), ZERO)
                rec.fees = tuple(Fee(a, x) for a, x in sorted(fees.items()))
                rec.fees_final = True
                self._save(leg)
            elif rec.state.terminal and rec.filled == 0:
                rec.fees_final = True

    # -- helpers -------------------------------------------------------------------------------

    def _apply(self, rec: OrderRecord, status: OrderStatus) -> None:
        """Take the venue's view of the order (it is the truth), through the allowed transitions."""
        rec.venue_order_id = status.venue_order_id or rec.venue_order_id
        if status.filled < rec.filled:
            raise ReconcileError(
                f"{self.venue.name}: {rec.client_id} reports {status.filled} filled, less than {rec.filled} seen before"
            )
        rec.filled = status.filled
        rec.cost = status.cost
        if status.fees and not rec.fees_final:
            rec.fees = status.fees
        new = status.state
        if rec.state == OrderState.PLANNED:
            rec.move(OrderState.SENT)
        if new != rec.state:
            rec.move(new)

    def _finish(self, leg: LegState) -> None:
        """Terminal state for a leg whose orders are all terminal and whose fees are known."""
        if leg.open_orders() or any(o.filled > 0 and not o.fees_final for o in leg.orders):
            leg.state = leg.working_state()
            return
        target = sum(leg.slices, ZERO)
        if target > 0 and leg.filled >= target:
            leg.state = OrderState.FILLED
            return
        leg.state = OrderState.CANCELLED
        if leg.reason is None:
            base = leg.spec.symbol.split("/")[0]
            leg.reason = f"stopped with {leg.residual} {base} unfilled (left for re-planning)"

    def _interrupted(self, leg: LegState, error: KeeperError) -> None:
        """The leg hit an error. Terminal only if nothing is left open or unknown at the venue."""
        message = redact(error.one_line())
        if leg.open_orders():
            leg.state = leg.working_state()
            leg.reason = f"interrupted, will reconcile: {message}"
            log.warning("%s: leg %s interrupted: %s", self.venue.name, leg.key, message)
            return
        if any(o.filled > 0 and not o.fees_final for o in leg.orders):
            leg.state = leg.working_state()
            leg.reason = f"interrupted before fees were read: {message}"
            return
        leg.state = OrderState.FAILED if leg.filled == 0 else OrderState.CANCELLED
        leg.reason = message
        log.warning("%s: leg %s %s: %s", self.venue.name, leg.key, leg.state.value, message)

    def _save(self, leg: LegState) -> None:
        self.store.save(leg)

    async def _retry(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await with_retries(
            call, self.config.retry, what=f"{self.venue.name}: {what}", sleep=self.sleep
        )


async def recover(
    store: LegStore,
    venues: dict[str, OrderVenue],
    config: ExecutionConfig | None = None,
    *,
    sleep: Sleep = asyncio.sleep,
) -> list[LegState]:
    """After a crash: reconcile every unfinished leg with its venue by client id; place nothing."""
    out = []
    for leg in store.load_unfinished():
        venue = venues.get(leg.spec.venue)
        if venue is None:
            raise ConfigError(
                f"journal has an unfinished leg on {leg.spec.venue!r} but no adapter is configured for it"
            )
        out.append(await LegExecutor(venue, store, config, sleep=sleep).reconcile(leg))
    return out
