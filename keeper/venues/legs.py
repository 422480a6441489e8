"""Legs: what one venue must do for a plan, the state of each order it sent, and their storage.

This module owns the leg-execution state machine's data: `LegSpec` (what the planner asks of one
venue), `OrderRecord` (one order we sent for it, with the client id that identifies it at the
venue forever), `LegState` (the leg and all its orders), the allowed state transitions, the
deterministic client order id, and the `LegStore` persistence interface with an in-memory
implementation (the journal implements the same Protocol in SQLite).

It is pure: no network, no clock. The driver that talks to venues is `executor.py`.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from keeper.venues.types import ZERO, Fee, OrderState, Side

# Allowed order transitions. A state may always "move" to itself (a poll that saw no change).
# SENT -> SENT is the resend after a lookup proved the first request never arrived.
_TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.PLANNED: frozenset({OrderState.SENT, OrderState.FAILED}),
    OrderState.SENT: frozenset(
        {
            OrderState.ACKNOWLEDGED,
            OrderState.PARTLY_FILLED,
            OrderState.FILLED,
            OrderState.CANCELLED,
            OrderState.FAILED,
        }
    ),
    OrderState.ACKNOWLEDGED: frozenset(
        {OrderState.PARTLY_FILLED, OrderState.FILLED, OrderState.CANCELLED}
    ),
    OrderState.PARTLY_FILLED: frozenset({OrderState.FILLED, OrderState.CANCELLED}),
    OrderState.FILLED: frozenset(),
    OrderState.CANCELLED: frozenset(),
    OrderState.FAILED: frozenset(),
}


class TransitionError(Exception):
    """A state change the machine forbids: a bug, never a venue condition."""


def check_transition(old: OrderState, new: OrderState) -> None:
    if old != new and new not in _TRANSITIONS[old]:
        raise TransitionError(f"order state cannot go from {old.value} to {new.value}")


def client_order_id(plan_id: str, leg_index: int, slice_index: int, attempt: int) -> str:
    """The venue-side id of one order, derived only from where it sits in the plan.

    The same (plan, leg, slice, attempt) always gives the same id, so after a timeout or a crash
    the keeper can look the order up before it ever places another. The shape fits every venue
    we talk to: letters and digits only, starts with a letter, at most 32 characters (OKX's
    clOrdId rule, the strictest; Binance allows 36, Alpaca 128).
    """
    if leg_index < 0 or slice_index < 0 or attempt < 0:
        raise ValueError("leg, slice and attempt indexes are never negative")
    digest = hashlib.sha256(plan_id.encode()).hexdigest()[:12]
    cid = f"k{digest}l{leg_index}s{slice_index}r{attempt}"
    if len(cid) > 32:
        raise ValueError(f"plan too large for a 32-character client id: {cid}")
    return cid


@dataclass(frozen=True, slots=True)
class LegSpec:
    """One venue's part of a plan: trade `amount` of `symbol`'s base on `venue`."""

    plan_id: str
    leg_index: int
    venue: str
    symbol: str  # "BTC/USDT" on exchanges, "SPY" at brokers
    side: Side
    amount: Decimal  # base units (tokens, shares)
    max_slippage_bps: int = 50  # how far from the touch a limit price may go
    worst_price: Decimal | None = None  # never buy above / sell below this (quote units)

    def __post_init__(self) -> None:
        if isinstance(self.amount, float) or (
            self.worst_price is not None and isinstance(self.worst_price, float)
        ):
            raise TypeError("leg amounts and prices are Decimal, never float")
        if self.amount <= 0:
            raise ValueError(f"leg {self.leg_index}: amount must be positive, got {self.amount}")
        if self.side not in ("buy", "sell"):
            raise ValueError(f"leg {self.leg_index}: side must be buy or sell, got {self.side!r}")


@dataclass(slots=True)
class OrderRecord:
    """One order sent (or about to be sent) for a leg."""

    client_id: str
    slice_index: int
    attempt: int
    amount: Decimal
    limit_price: Decimal
    state: OrderState = OrderState.PLANNED
    venue_order_id: str | None = None
    filled: Decimal = ZERO
    cost: Decimal = ZERO  # quote units
    fees: tuple[Fee, ...] = ()
    fees_final: bool = False  # True once fees were read from the venue's fills
    sends: int = 0  # how many times the request left (a resend follows only a proven absence)
    reason: str | None = None

    def move(self, new: OrderState) -> None:
        check_transition(self.state, new)
        self.state = new


@dataclass(slots=True)
class LegState:
    """A leg, the plan to split it into slices, and every order sent for it."""

    spec: LegSpec
    state: OrderState = OrderState.PLANNED
    slices: tuple[Decimal, ...] = ()
    orders: list[OrderRecord] = field(default_factory=list)
    reason: str | None = None  # why it failed, stopped short, waits, or was scaled
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int]:
        return (self.spec.plan_id, self.spec.leg_index)

    @property
    def filled(self) -> Decimal:
        return sum((o.filled for o in self.orders), ZERO)

    @property
    def cost(self) -> Decimal:
        return sum((o.cost for o in self.orders), ZERO)

    @property
    def residual(self) -> Decimal:
        """What the planner still has to place for this leg (base units)."""
        return max(self.spec.amount - self.filled, ZERO)

    def fees(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for o in self.orders:
            for fee in o.fees:
                out[fee.asset] = out.get(fee.asset, ZERO) + fee.amount
        return out

    def orders_for_slice(self, slice_index: int) -> list[OrderRecord]:
        return [o for o in self.orders if o.slice_index == slice_index]

    def open_orders(self) -> list[OrderRecord]:
        return [o for o in self.orders if not o.state.terminal]

    def working_state(self) -> OrderState:
        """The leg's state while it is not finished, derived from its orders."""
        if any(o.state in (OrderState.SENT, OrderState.PLANNED) for o in self.orders):
            return (
                OrderState.SENT
                if any(o.state == OrderState.SENT for o in self.orders)
                else OrderState.PLANNED
            )
        if self.filled > 0:
            return OrderState.PARTLY_FILLED
        if self.open_orders():
            return OrderState.ACKNOWLEDGED
        return OrderState.PLANNED  # nothing working and nothing filled: the next run places

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (Decimals as strings): what a journal row holds."""
        s = self.spec
        return {
            "spec": {
                "plan_id": s.plan_id,
                "leg_index": s.leg_index,
                "venue": s.venue,
                "symbol": s.symbol,
                "side": s.side,
                "amount": str(s.amount),
                "max_slippage_bps": s.max_slippage_bps,
                "worst_price": None if s.worst_price is None else str(s.worst_price),
            },
            "state": self.state.value,
            "slices": [str(x) for x in self.slices],
            "orders": [
                {
                    "client_id": o.client_id,
                    "slice_index": o.slice_index,
                    "attempt": o.attempt,
                    "amount": str(o.amount),
                    "limit_price": str(o.limit_price),
                    "state": o.state.value,
                    "venue_order_id": o.venue_order_id,
                    "filled": str(o.filled),
                    "cost": str(o.cost),
                    "fees": [[f.asset, str(f.amount)] for f in o.fees],
                    "fees_final": o.fees_final,
                    "sends": o.sends,
                    "reason": o.reason,
                }
                for o in self.orders
            ],
            "reason": self.reason,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LegState:
        s = d["spec"]
        spec = LegSpec(
            plan_id=s["plan_id"],
            leg_index=int(s["leg_index"]),
            venue=s["venue"],
            symbol=s["symbol"],
            side=s["side"],
            amount=Decimal(s["amount"]),
            max_slippage_bps=int(s["max_slippage_bps"]),
            worst_price=None if s["worst_price"] is None else Decimal(s["worst_price"]),
        )
        orders = [
            OrderRecord(
                client_id=o["client_id"],
                slice_index=int(o["slice_index"]),
                attempt=int(o["attempt"]),
                amount=Decimal(o["amount"]),
                limit_price=Decimal(o["limit_price"]),
                state=OrderState(o["state"]),
                venue_order_id=o["venue_order_id"],
                filled=Decimal(o["filled"]),
                cost=Decimal(o["cost"]),
                fees=tuple(Fee(a, Decimal(x)) for a, x in o["fees"]),
                fees_final=bool(o["fees_final"]),
                sends=int(o["sends"]),
                reason=o["reason"],
            )
            for o in d["orders"]
        ]
        return cls(
            spec=spec,
            state=OrderState(d["state"]),
            slices=tuple(Decimal(x) for x in d["slices"]),
            orders=orders,
            reason=d["reason"],
            notes=list(d["notes"]),
        )

    def scaled(self, factor: Decimal, amount: Decimal, note: str) -> LegState:
        """A fresh copy of this planned leg with a smaller amount (cash scaling), noted why."""
        if self.orders:
            raise TransitionError("a leg that has sent orders cannot be rescaled")
        leg = LegState(spec=replace(self.spec, amount=amount), notes=[*self.notes, note])
        leg.reason = note
        return leg


class LegStore(Protocol):
    """Where leg states live between steps and across crashes (the journal implements this)."""

    def save(self, leg: LegState) -> None:
        """Persist the whole leg state; called before every venue request that changes anything."""

    def load(self, plan_id: str, leg_index: int) -> LegState | None:
        """The stored state of one leg, or None if it was never saved."""

    def load_plan(self, plan_id: str) -> list[LegState]:
        """Every stored leg of a plan, by leg index."""

    def load_unfinished(self) -> list[LegState]:
        """Every leg not in a terminal state: what recovery must reconcile before anything else."""


class InMemoryLegStore:
    """A `LegStore` in a dict. Stores serialised copies, so callers cannot mutate stored state."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.saves = 0

    def save(self, leg: LegState) -> None:
        row = leg.to_dict()
        with self._lock:
            self._rows[leg.key] = row
            self.saves += 1

    def load(self, plan_id: str, leg_index: int) -> LegState | None:
        with self._lock:
            row = self._rows.get((plan_id, leg_index))
        return None if row is None else LegState.from_dict(copy.deepcopy(row))

    def load_plan(self, plan_id: str) -> list[LegState]:
        with self._lock:
            rows = [copy.deepcopy(r) for (p, _), r in sorted(self._rows.items()) if p == plan_id]
        return [LegState.from_dict(r) for r in rows]

    def load_unfinished(self) -> list[LegState]:
        with self._lock:
            rows = [copy.deepcopy(r) for r in self._rows.values()]
        legs = [LegState.from_dict(r) for r in rows]
        return [leg for leg in legs if not leg.state.terminal]
