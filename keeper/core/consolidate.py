"""Leg consolidation: the smallest set of trades when legs would fall under a venue's minimum.

The matching (max flow, `keeper.core.planner`) decides how much each asset sells and buys on each
venue. Pairing those amounts into legs can fragment one buy over several sellers: on the devnet
demo UNI buys $1,400 as ETH $500 + DAI $500 + USDC $400, each at or below the venue's $500
minimum, so every piece would be dropped and UNI would stay past its hard limit. This module
repairs that before anything is dropped:

- a *buy* fragmented into a leg under the minimum is moved, with every piece that is free to move
  (the small legs, and legs from sellers that only *may* sell), onto ONE seller that can carry it:
  one it already trades with (no new leg), then an overweight non-cash asset, then cash;
- a *sell* fragmented the same way is moved onto ONE buyer: one it already trades with, then an
  underweight non-cash asset, then cash;
- what no single counterpart can carry is merged leg by leg into legs that already stand;
- on a VIA_QUOTE venue (CEX, broker) a sale under the minimum is moved onto another seller there,
  or onto the quote's own cash.

A counterpart *can carry* an amount when, after it, the counterpart is still *within range*: it may
cross its target but ends at most 0.9 of its soft band away (the drift monitor's "within range",
`keeper.core.drift.APPROACH`), its class likewise, cash sold stays above the cash reserve, a buy
stays under the max single asset, and its holdings on that venue have the value. Only moves the
strategy made are extended: an asset the goal does not sell is never sold, one it does not buy is
never bought, and the cash-flow strategy never goes past its targets. What nothing can carry is
left for the planner to drop, with its reason.

`Room` counts only *kept* amounts (legs at or above the minimum, the quote's own cash): a leg that
ends up dropped never uses anyone's room. Amounts are integer micro-USD, like the flow.

This module must not do I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from keeper.core.drift import APPROACH, DriftReport
from keeper.core.spec import PortfolioSpec, StrategyKind
from keeper.core.strategies import Goal, cap_usd

MICRO = Decimal(1_000_000)
# Taking a buy past what the strategy asked stops this far under the max single asset (a share
# of the cap), so the rounding of raw units elsewhere in the plan cannot tip it over the cap.
CAP_MARGIN = Decimal("0.001")
Legs = dict[tuple[str, str], int]  # (sell asset, buy asset) -> micro-USD, on one DIRECT venue


def _micro(usd: Decimal | None) -> int:
    if usd is None or usd <= 0:
        return 0
    return int((usd * MICRO).to_integral_value(rounding=ROUND_DOWN))


@dataclass
class Room:
    """How far each asset (and class, and the cash pool) may still move within range.

    Limits are totals over the whole plan; `sold`, `bought`, `sold_at`, `class_net` and
    `cash_sold` are what kept legs use so far. A limit is never below what the matching itself
    asked for, so consolidation can always take back what the flow planned.
    """

    sell_limit: dict[str, int]
    buy_limit: dict[str, int]
    class_of: dict[str, str]
    class_sell_limit: dict[str, int]  # net (sells - buys) of a class
    class_buy_limit: dict[str, int]  # net (buys - sells) of a class
    cash: frozenset[str]
    pool_limit: int
    capacity: Mapping[tuple[str, str], int]  # liquid value of an asset on a venue
    sold: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bought: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sold_at: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    class_net: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cash_sold: int = 0

    def clear(self) -> None:
        """Forget every charge (the limits stay)."""
        self.sold.clear()
        self.bought.clear()
        self.sold_at.clear()
        self.class_net.clear()
        self.cash_sold = 0

    @classmethod
    def build(
        cls,
        spec: PortfolioSpec,
        report: DriftReport,
        goal: Goal,
        capacity: Mapping[tuple[str, str], int],
        flow_sells: Mapping[str, Mapping[str, int]],
        flow_buys: Mapping[str, Mapping[str, int]],
    ) -> Room:
        """Limits from the drift report and the goal; never below the flow's own amounts."""
        overshoot = goal.strategy is not StrategyKind.CASH_FLOW
        cap = cap_usd(report, spec)
        flow_s: dict[str, int] = defaultdict(int)
        flow_b: dict[str, int] = defaultdict(int)
        for per_asset in flow_sells.values():
            for a, x in per_asset.items():
                flow_s[a] += x
        for per_asset in flow_buys.values():
            for a, x in per_asset.items():
                flow_b[a] += x
        class_of = {a.name: a.asset_class for a in spec.assets}
        rows = {r.name: r for r in report.assets}
        class_rows = {c.name: c for c in report.classes}
        sell_limit: dict[str, int] = {}
        buy_limit: dict[str, int] = {}
        for m in goal.moves:
            row = rows[m.asset]
            base_s, base_b = _micro(m.must_sell + m.may_sell), _micro(m.must_buy + m.may_buy)
            class_row = class_rows[row.asset_class]
            widen = overshoot and row.drift_usd is not None and class_row.drift_usd is not None
            if m.sells:
                far = _micro(row.drift_usd + APPROACH * row.soft_usd) if widen else 0
                sell_limit[m.asset] = max(base_s, far, flow_s[m.asset])
            if m.buys:
                far = _micro(-row.drift_usd + APPROACH * row.soft_usd) if widen else 0
                if cap is not None and not spec.asset(m.asset).cash and row.value_usd is not None:
                    far = min(far, _micro(cap * (1 - CAP_MARGIN) - row.value_usd))
                buy_limit[m.asset] = max(base_b, far, flow_b[m.asset])
        class_net: dict[str, int] = defaultdict(int)
        for a, x in flow_s.items():
            class_net[class_of[a]] += x
        for a, x in flow_b.items():
            class_net[class_of[a]] -= x
        class_sell_limit: dict[str, int] = {}
        class_buy_limit: dict[str, int] = {}
        for c in report.classes:
            if overshoot and c.drift_usd is not None:
                far_s = _micro(c.drift_usd + APPROACH * c.soft_usd)
                far_b = _micro(-c.drift_usd + APPROACH * c.soft_usd)
            else:
                far_s = far_b = 0
            class_sell_limit[c.name] = max(far_s, class_net[c.name])
            class_buy_limit[c.name] = max(far_b, -class_net[c.name])
        cash = frozenset(a.name for a in spec.assets if a.cash)
        pool = _micro(goal.cash_spendable_usd) if goal.cash_spendable_usd is not None else 0
        pool = max(pool, sum(x for a, x in flow_s.items() if a in cash))
        return cls(
            sell_limit=sell_limit,
            buy_limit=buy_limit,
            class_of=class_of,
            class_sell_limit=class_sell_limit,
            class_buy_limit=class_buy_limit,
            cash=cash,
            pool_limit=pool,
            capacity=capacity,
        )

    # --- queries ------------------------------------------------------------------------------

    def can_sell(self, asset: str, venue: str, amount: int) -> bool:
        """Whether `asset` may sell `amount` more micro-USD on `venue` and stay within range."""
        if amount <= 0:
            return True
        c = self.class_of[asset]
        return (
            self.sold[asset] + amount <= self.sell_limit.get(asset, 0)
            and self.sold_at[(asset, venue)] + amount <= self.capacity.get((asset, venue), 0)
            and self.class_net[c] + amount <= self.class_sell_limit[c]
            and (asset not in self.cash or self.cash_sold + amount <= self.pool_limit)
        )

    def can_buy(self, asset: str, amount: int) -> bool:
        """Whether `asset` may buy `amount` more micro-USD and stay within range (and the cap)."""
        if amount <= 0:
            return True
        c = self.class_of[asset]
        return (
            self.bought[asset] + amount <= self.buy_limit.get(asset, 0)
            and -self.class_net[c] + amount <= self.class_buy_limit[c]
        )

    def sell_room(self, asset: str, venue: str) -> int:
        """How much more `asset` may sell on `venue` (micro-USD), by `can_sell`'s rules."""
        c = self.class_of[asset]
        left = min(
            self.sell_limit.get(asset, 0) - self.sold[asset],
            self.capacity.get((asset, venue), 0) - self.sold_at[(asset, venue)],
            self.class_sell_limit[c] - self.class_net[c],
        )
        if asset in self.cash:
            left = min(left, self.pool_limit - self.cash_sold)
        return max(0, left)

    def buy_room(self, asset: str) -> int:
        """How much more `asset` may buy (micro-USD), by `can_buy`'s rules."""
        c = self.class_of[asset]
        left = min(
            self.buy_limit.get(asset, 0) - self.bought[asset],
            self.class_buy_limit[c] + self.class_net[c],
        )
        return max(0, left)

    # --- bookkeeping --------------------------------------------------------------------------

    def sell(self, asset: str, venue: str, amount: int) -> None:
        """Record (or, with a negative amount, release) a kept sale."""
        self.sold[asset] += amount
        self.sold_at[(asset, venue)] += amount
        self.class_net[self.class_of[asset]] += amount
        if asset in self.cash:
            self.cash_sold += amount

    def buy(self, asset: str, amount: int) -> None:
        """Record (or release) a kept purchase."""
        self.bought[asset] += amount
        self.class_net[self.class_of[asset]] -= amount


# --- pairing and repair ---------------------------------------------------------------------


def pair_greedy(sells: Mapping[str, int], buys: Mapping[str, int]) -> Legs:
    """Largest seller with largest buyer, repeatedly: at most sellers + buyers - 1 legs.

    Amounts are per asset on one DIRECT venue; the result maps (seller, buyer) -> micro-USD.
    """
    s = sorted(((a, x) for a, x in sells.items() if x > 0), key=lambda t: (-t[1], t[0]))
    b = sorted(((a, x) for a, x in buys.items() if x > 0), key=lambda t: (-t[1], t[0]))
    legs: Legs = {}
    i = j = 0
    s_left = s[0][1] if s else 0
    b_left = b[0][1] if b else 0
    while i < len(s) and j < len(b):
        amt = min(s_left, b_left)
        key = (s[i][0], b[j][0])
        legs[key] = legs.get(key, 0) + amt
        s_left -= amt
        b_left -= amt
        if s_left == 0:
            i += 1
            s_left = s[i][1] if i < len(s) else 0
        if b_left == 0:
            j += 1
            b_left = b[j][1] if j < len(b) else 0
    return legs


@dataclass(frozen=True, slots=True)
class Movers:
    """What the goal lets each asset do, and where it can trade (for choosing counterparts)."""

    must_sell: frozenset[str]
    must_buy: frozenset[str]
    sellers: frozenset[str]  # every asset with a sell move
    buyers: frozenset[str]  # every asset with a buy move
    cash: frozenset[str]
    buyable: frozenset[tuple[str, str]]  # (asset, venue) with a liquid holding to buy into

    @classmethod
    def of(cls, goal: Goal, cash: frozenset[str], buyable: frozenset[tuple[str, str]]) -> Movers:
        return cls(
            must_sell=frozenset(m.asset for m in goal.moves if m.must_sell > 0),
            must_buy=frozenset(m.asset for m in goal.moves if m.must_buy > 0),
            sellers=frozenset(m.asset for m in goal.moves if m.sells),
            buyers=frozenset(m.asset for m in goal.moves if m.buys),
            cash=cash,
            buyable=buyable,
        )


def record_kept(room: Room, venue: str, legs: Legs, floor: int) -> None:
    """Charge the legs at or above the venue minimum to `room`."""
    for (s, b), x in legs.items():
        if x >= floor:
            room.sell(s, venue, x)
            room.buy(b, x)


def consolidate_direct(
    legs_by_venue: Mapping[str, Legs],
    floors: Mapping[str, int],
    room: Room,
    movers: Movers,
) -> int:
    """Repair fragmented legs on DIRECT venues in place (see the module docstring).

    `room` must already hold every kept amount of the plan. Repeats buyer and seller passes over
    the venues, in name order, until nothing changes; returns the number of repairs made. Every
    repair removes at least one leg under the minimum, so this ends.
    """
    repairs = 0
    for _ in range(64):
        changed = 0
        for venue in sorted(legs_by_venue):
            legs, floor = legs_by_venue[venue], floors[venue]
            if floor <= 0:
                continue
            for b in sorted({b for (_, b), x in legs.items() if x < floor}):
                if b in movers.must_buy:
                    changed += _gather_buy(legs, venue, floor, b, room, movers)
            for s in sorted({s for (s, _), x in legs.items() if x < floor}):
                if s in movers.must_sell:
                    changed += _gather_sell(legs, venue, floor, s, room, movers)
            changed += _merge_pieces(legs, venue, floor, room, movers)
        repairs += changed
        if not changed:
            break
    return repairs


def _gather_buy(legs: Legs, venue: str, floor: int, b: str, room: Room, movers: Movers) -> int:
    """Move B's pieces onto one seller: every free piece (small legs, legs from sellers that only
    may sell) if one seller can carry them all, else the small legs alone."""
    into = {s: x for (s, bb), x in legs.items() if bb == b}
    if not any(x < floor for x in into.values()):
        return 0
    free = {s: x for s, x in into.items() if x < floor or s not in movers.must_sell}
    small = {s: x for s, x in into.items() if x < floor}
    for pieces in (free, small) if free != small else (small,):
        total = sum(pieces.values())
        _release(room, venue, legs, floor, [(s, b) for s in pieces])
        choice = None
        if room.can_buy(b, total):
            options = []
            for s in movers.sellers:
                if s == b or room.capacity.get((s, venue), 0) <= 0:
                    continue
                existing = legs.get((s, b), 0)
                if existing - pieces.get(s, 0) + total < floor:
                    continue
                if not room.can_sell(s, venue, total):
                    continue
                rank = (0 if existing else 1, s in movers.cash, s not in movers.must_sell, s)
                options.append((rank, s))
            choice = min(options)[1] if options else None
        if choice is None:
            _release(room, venue, legs, floor, [(s, b) for s in pieces], sign=1)
            continue
        for s in pieces:
            if s != choice:
                del legs[(s, b)]
        legs[(choice, b)] = legs.get((choice, b), 0) - pieces.get(choice, 0) + total
        room.sell(choice, venue, total)
        room.buy(b, total)
        return 1
    return 0


def _gather_sell(legs: Legs, venue: str, floor: int, s: str, room: Room, movers: Movers) -> int:
    """Move S's free pieces (its small legs and its legs to may-only buyers) onto one buyer."""
    pieces = {
        b: x for (ss, b), x in legs.items() if ss == s and (x < floor or b not in movers.must_buy)
    }
    if not any(x < floor for x in pieces.values()):
        return 0
    total = sum(pieces.values())
    _release(room, venue, legs, floor, [(s, b) for b in pieces])
    choice = None
    if room.can_sell(s, venue, total):
        options = []
        for b in movers.buyers:
            if b == s or (b, venue) not in movers.buyable:
                continue
            existing = legs.get((s, b), 0)
            if existing - pieces.get(b, 0) + total < floor or not room.can_buy(b, total):
                continue
            rank = (0 if existing else 1, b in movers.cash, b not in movers.must_buy, b)
            options.append((rank, b))
        choice = min(options)[1] if options else None
    if choice is None:
        _release(room, venue, legs, floor, [(s, b) for b in pieces], sign=1)
        return 0
    for b in pieces:
        if b != choice:
            del legs[(s, b)]
    legs[(s, choice)] = legs.get((s, choice), 0) - pieces.get(choice, 0) + total
    room.sell(s, venue, total)
    room.buy(choice, total)
    return 1


def _release(
    room: Room, venue: str, legs: Legs, floor: int, keys: list[tuple[str, str]], sign: int = -1
) -> None:
    """Take the kept legs among `keys` out of `room` (sign -1), or put them back (sign +1)."""
    for s, b in keys:
        x = legs[(s, b)]
        if x >= floor:
            room.sell(s, venue, sign * x)
            room.buy(b, sign * x)


def _merge_pieces(legs: Legs, venue: str, floor: int, room: Room, movers: Movers) -> int:
    """Fallback: merge each remaining small leg into a kept leg of the same buyer (its seller
    sells more) or of the same seller (its buyer buys more), largest pieces first."""
    merged = 0
    small = sorted((-x, s, b) for (s, b), x in legs.items() if x < floor)
    for neg, s, b in small:
        x = -neg
        target = None
        if b in movers.must_buy and room.can_buy(b, x):
            options = [
                (s2 in movers.cash, s2 not in movers.must_sell, s2)
                for (s2, b2), y in legs.items()
                if b2 == b and s2 != s and y >= floor and room.can_sell(s2, venue, x)
            ]
            if options:
                target = (min(options)[2], b)
        if target is None and s in movers.must_sell and room.can_sell(s, venue, x):
            options = [
                (b2 in movers.cash, b2 not in movers.must_buy, b2)
                for (s2, b2), y in legs.items()
                if s2 == s and b2 != b and y >= floor and room.can_buy(b2, x)
            ]
            if options:
                target = (s, min(options)[2])
        if target is None:
            continue
        del legs[(s, b)]
        legs[target] += x
        room.sell(target[0], venue, x)
        room.buy(target[1], x)
        merged += 1
    return merged


def consolidate_quote_sells(
    venue: str,
    quote: str,
    sells: dict[str, int],
    floor: int,
    keep_bps: int,
    room: Room,
    movers: Movers,
) -> int:
    """On a VIA_QUOTE venue, move each sale under the minimum onto another seller there (one
    that already sells at least the minimum first, non-cash before cash) or onto the quote's own
    cash, so the buys it funds keep their funds. `sells` (micro-USD per asset, the quote's own
    cash under `quote`) is changed in place and `room` charged. Returns the repairs made."""
    repairs = 0
    for a in sorted(a for a, x in sells.items() if a != quote and 0 < x < floor):
        x = sells[a]
        options = []
        for s2, y in sells.items():
            if s2 in (a, quote) or y + x < floor:
                continue
            charge = x if y >= floor else y + x
            if room.can_sell(s2, venue, charge):
                rank = (y < floor, s2 in movers.cash, s2 not in movers.must_sell, s2)
                options.append((rank, s2, charge))
        if options:
            _, s2, charge = min(options)
            room.sell(s2, venue, charge)
            sells[s2] += x
            del sells[a]
            repairs += 1
            continue
        cash_needed = x * keep_bps // 10_000
        if quote in movers.sellers and room.can_sell(quote, venue, cash_needed):
            room.sell(quote, venue, cash_needed)
            sells[quote] = sells.get(quote, 0) + cash_needed
            del sells[a]
            repairs += 1
    return repairs
