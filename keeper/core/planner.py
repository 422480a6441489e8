"""The planner: a strategy's `Goal` -> the smallest set of venue-local trades (`Plan`).

How it works:

1. **Match** (max flow, `keeper.core.flow`). Sellers feed venues where they hold a liquid,
   priced position (capacity: its value); venues feed buyers that hold a liquid position there.
   Cash sellers share one pool capped at the cash above the reserve. Three phases:
   must-sell -> must-buy, then must-sell -> may-buy, then may-sell -> must-buy; may never meets
   may. Amounts are integer micro-USD inside the flow, so the matching is exact and deterministic.
2. **Share fairly**. When a venue cannot fund every buy there (cross-venue transfers are out of
   scope), the buyers that can only buy there share what it has in proportion to their need,
   must-moves first; the same for sellers. The shortfall is reported.
3. **Pair** inside each venue. DIRECT venues (a DEX router) swap seller into buyer, largest
   first, which makes at most sellers + buyers - 1 legs. VIA_QUOTE venues (CEX, broker) sell into
   the quote asset first, then buy with it; the buys are sized from the raw quote the sells return
   after costs, so they never spend more than is there.
4. **Cost and drop**. Each leg gets its fee and slippage (venue bps) and a gas placeholder; legs
   under the venue's minimum trade size, or that round to zero raw units, are dropped and listed.
5. **Order**: per venue, sells into the quote, then swaps, then buys from the quote.

Netting is by construction: each asset either sells or buys, never both. The result does not
depend on the order assets, holdings or venues were listed in: everything is sorted by name.

This module must not do I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext

from keeper.core.drift import DriftReport, compute_drift
from keeper.core.flow import FlowNetwork
from keeper.core.plan import Dropped, Plan, Shortfall, Trade
from keeper.core.portfolio import Position, Snapshot
from keeper.core.spec import HoldingKind, Pairing, PortfolioSpec, VenueSpec
from keeper.core.strategies import Goal, RunContext, choose
from keeper.money import BPS, MONEY_CONTEXT, to_decimal

ZERO = Decimal(0)
MICRO = Decimal(1_000_000)  # flow unit: 1 micro-USD
_KIND_ORDER = {HoldingKind.ERC20: 0, HoldingKind.CEX_BALANCE: 0, HoldingKind.BROKER_POSITION: 0}


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything one planning pass saw and chose: drift, the strategy's goal, and the plan."""

    report: DriftReport
    goal: Goal
    plan: Plan


def decide(spec: PortfolioSpec, snapshot: Snapshot, ctx: RunContext) -> Decision:
    """Drift -> strategy -> plan, for one snapshot. Pure."""
    report = compute_drift(spec, snapshot)
    goal = choose(report, spec, ctx)
    return Decision(report, goal, plan_goal(spec, snapshot, report, goal))


def plan_goal(spec: PortfolioSpec, snapshot: Snapshot, report: DriftReport, goal: Goal) -> Plan:
    """Turn `goal` into trades (see the module docstring)."""
    base = dict(
        strategy=goal.strategy,
        notes=goal.notes,
        total_usd=report.total_usd,
        taken_at=snapshot.taken_at,
    )
    if not goal.has_must:
        return Plan(
            trades=(), no_action_reason=goal.no_action_reason or "nothing must move", **base
        )
    with localcontext(MONEY_CONTEXT):
        book = _Book(spec, snapshot, goal)
        sells, buys = _match(book, goal)
        legs, dropped = _pair_and_cost(book, sells, buys)
        trades = _finish(legs, report)
        shortfalls = _shortfalls(book, goal, trades)
        notes = goal.notes + book.notes
        if not trades:
            if dropped:
                reason = (
                    f"every candidate trade is too small ({len(dropped)} dropped: see the list)"
                )
            elif shortfalls:
                reason = (
                    "no venue-local trade can make the required moves (cross-venue "
                    "transfers are out of scope)"
                )
            else:
                reason = goal.no_action_reason or "nothing to trade"
            return Plan(
                trades=(),
                dropped=tuple(dropped),
                shortfalls=shortfalls,
                no_action_reason=reason,
                **{**base, "notes": notes},
            )
        return Plan(
            trades=trades, dropped=tuple(dropped), shortfalls=shortfalls, **{**base, "notes": notes}
        )


# --- the book: who can sell/buy what where ---------------------------------------------------


class _Book:
    """Liquid, priced positions of the movers, per asset and venue, and the venues usable now."""

    def __init__(self, spec: PortfolioSpec, snapshot: Snapshot, goal: Goal) -> None:
        self.spec = spec
        self.notes: tuple[str, ...] = ()
        movers = {m.asset for m in goal.moves}
        notes = []
        usable_venues = []
        for v in spec.venues:
            if v.pairing is Pairing.VIA_QUOTE:
                quote = self._quote_position(snapshot, v)
                if quote is None:
                    notes.append(

                            f"venue {v.name}: its quote {v.quote} has no liquid priced "
                            "holding: not traded"

                    )
                    continue
            usable_venues.append(v.name)
        self.venues: tuple[str, ...] = tuple(usable_venues)
        usable = set(self.venues)
        # (asset, venue) -> liquid priced positions, largest first then by id
        self.liquid: dict[tuple[str, str], list[Position]] = defaultdict(list)
        self.quote: dict[str, Position] = {}
        for p in snapshot.positions:
            if not (p.liquid and p.priced and p.venue in usable):
                continue
            if p.asset in movers:
                self.liquid[(p.asset, p.venue)].append(p)
        for v in spec.venues:
            if v.name in usable and v.pairing is Pairing.VIA_QUOTE:
                self.quote[v.name] = self._quote_position(snapshot, v)
        # computed once: the hot loops below read these many times per plan
        self.micro: dict[str, int] = {}
        for plist in self.liquid.values():
            for p in plist:
                self.micro[p.holding] = _micro(p.value_usd)
            plist.sort(
                key=lambda p: (_KIND_ORDER.get(p.kind, 1), -self.micro[p.holding], p.holding)
            )
        for q in self.quote.values():
            self.micro.setdefault(q.holding, _micro(q.value_usd))
        self.capacity: dict[tuple[str, str], int] = {
            key: sum(self.micro[p.holding] for p in self.sellable(*key)) for key in self.liquid
        }
        self.venues_of: dict[str, list[str]] = defaultdict(list)
        for a, v in sorted(self.liquid):
            self.venues_of[a].append(v)
        self.notes = tuple(notes)

    @staticmethod
    def _quote_position(snapshot: Snapshot, venue: VenueSpec) -> Position | None:
        found = [
            p
            for p in snapshot.positions
            if p.venue == venue.name and p.asset == venue.quote and p.liquid and p.priced
        ]
        return sorted(found, key=lambda p: p.holding)[0] if found else None

    def sellable(self, asset: str, venue: str) -> list[Position]:
        """Holdings a sell of `asset` at `venue` may draw from. On a VIA_QUOTE venue the quote
        asset is spent only from the holding its buys settle in."""
        q = self.quote.get(venue)
        if q is not None and q.asset == asset:
            return [q]
        return self.liquid.get((asset, venue), [])

    def sell_capacity(self, asset: str, venue: str) -> int:
        return self.capacity.get((asset, venue), 0)

    def can_buy(self, asset: str, venue: str) -> bool:
        return bool(self.liquid.get((asset, venue)))

    def buy_holding(self, asset: str, venue: str) -> Position:
        return min(
            self.liquid[(asset, venue)], key=lambda p: (_KIND_ORDER.get(p.kind, 1), p.holding)
        )


# --- 1 + 2: matching --------------------------------------------------------------------------


def _match(book: _Book, goal: Goal) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Max flow in three phases; returns sells[venue][asset] and buys[venue][asset] in micro-USD."""
    spec = book.spec
    sellers = [m for m in goal.moves if m.sells]
    buyers = [m for m in goal.moves if m.buys]
    venues = book.venues
    S, T, POOL = 0, 1, 2
    idx: dict[str, int] = {}
    nxt = 3
    for m in sellers + buyers:
        idx[m.asset] = nxt
        nxt += 1
    vidx = {v: nxt + i for i, v in enumerate(venues)}
    net = FlowNetwork(nxt + len(venues))
    pool_cap = _micro(goal.cash_spendable_usd) if goal.cash_spendable_usd is not None else 0
    net.add_edge(S, POOL, pool_cap)

    src_edge: dict[str, int] = {}
    sell_edges: dict[str, dict[str, int]] = defaultdict(dict)
    for m in sellers:
        origin = POOL if spec.asset(m.asset).cash else S
        src_edge[m.asset] = net.add_edge(origin, idx[m.asset], _micro(m.must_sell))
        for v in book.venues_of.get(m.asset, ()):
            cap = book.sell_capacity(m.asset, v)
            if cap > 0:
                sell_edges[m.asset][v] = net.add_edge(idx[m.asset], vidx[v], cap)
    infinite = 1 << 200
    sink_edge: dict[str, int] = {}
    buy_edges: dict[str, dict[str, int]] = defaultdict(dict)
    for m in buyers:
        for v in book.venues_of.get(m.asset, ()):
            buy_edges[m.asset][v] = net.add_edge(vidx[v], idx[m.asset], infinite)
        sink_edge[m.asset] = net.add_edge(idx[m.asset], T, _micro(m.must_buy))

    net.max_flow(S, T)  # phase 1: must -> must
    for m in buyers:  # phase 2: must -> may
        net.set_capacity(sink_edge[m.asset], _micro(m.must_buy) + _micro(m.may_buy))
    net.max_flow(S, T)
    for m in buyers:  # phase 3: may -> must (may-buys frozen at what they got)
        net.set_capacity(sink_edge[m.asset], max(net.flow(sink_edge[m.asset]), _micro(m.must_buy)))
    for m in sellers:
        net.set_capacity(src_edge[m.asset], _micro(m.must_sell) + _micro(m.may_sell))
    net.max_flow(S, T)

    sells: dict[str, dict[str, int]] = {v: {} for v in venues}
    buys: dict[str, dict[str, int]] = {v: {} for v in venues}
    for a, per_v in sell_edges.items():
        for v, e in per_v.items():
            if net.flow(e):
                sells[v][a] = net.flow(e)
    for a, per_v in buy_edges.items():
        for v, e in per_v.items():
            if net.flow(e):
                buys[v][a] = net.flow(e)
    _share_fairly(book, goal, sells, buys)
    return sells, buys


def _share_fairly(
    book: _Book, goal: Goal, sells: dict[str, dict[str, int]], buys: dict[str, dict[str, int]]
) -> None:
    """Within each venue, re-split the flow of assets that can trade only there in proportion to
    their need, must first. The venue's totals (and every other asset's flow) do not change, so
    the matching stays valid; cash and non-cash sellers are re-split separately (the cash pool)."""
    moves = {m.asset: m for m in goal.moves}
    home_s: dict[str, set[str]] = defaultdict(set)
    home_b: dict[str, set[str]] = defaultdict(set)
    for (a, v), _plist in book.liquid.items():
        if v in sells:
            if moves[a].sells and book.sell_capacity(a, v) > 0:
                home_s[a].add(v)
            if moves[a].buys:
                home_b[a].add(v)
    for v in book.venues:
        only_b = sorted(a for a, vs in home_b.items() if vs == {v})
        _resplit(
            buys[v],
            only_b,
            {a: (_micro(moves[a].must_buy), _micro(moves[a].may_buy)) for a in only_b},
            {},
        )
        for cash in (True, False):
            only_s = sorted(
                a for a, vs in home_s.items() if vs == {v} and book.spec.asset(a).cash is cash
            )
            caps = {a: book.sell_capacity(a, v) for a in only_s}
            _resplit(
                sells[v],
                only_s,
                {a: (_micro(moves[a].must_sell), _micro(moves[a].may_sell)) for a in only_s},
                caps,
            )


def _resplit(
    flows: dict[str, int], group: list[str], needs: dict[str, tuple[int, int]], caps: dict[str, int]
) -> None:
    total = sum(flows.get(a, 0) for a in group)
    if not group or total == 0:
        return
    out = {a: 0 for a in group}
    left = total
    for tier in (0, 1):
        room = {a: max(0, min(needs[a][tier], caps.get(a, 1 << 200) - out[a])) for a in group}
        want = sum(room.values())
        if want == 0:
            continue
        if left >= want:
            for a in group:
                out[a] += room[a]
            left -= want
            continue
        given = {a: left * room[a] // want for a in group}
        rest = left - sum(given.values())
        for a in group:  # hand out the rounding remainder one unit at a time, in name order
            if rest and given[a] < room[a]:
                given[a] += 1
                rest -= 1
        for a in group:
            out[a] += given[a]
        left = 0
        break
    if left:  # cannot happen: the flow never exceeds the needs; keep the old split if it does
        return
    for a in group:
        if out[a]:
            flows[a] = out[a]
        else:
            flows.pop(a, None)


# --- 3 + 4: pairing, raw amounts, costs, drops -------------------------------------------------


@dataclass(slots=True)
class _Leg:
    venue: str
    phase: int  # 0: sell into quote, 1: swap, 2: buy from quote
    sell: Position
    buy: Position
    sell_raw: int
    buy_raw: int
    notional: Decimal
    fee: Decimal
    slippage: Decimal


def _pair_and_cost(
    book: _Book, sells: dict[str, dict[str, int]], buys: dict[str, dict[str, int]]
) -> tuple[list[_Leg], list[Dropped]]:
    legs: list[_Leg] = []
    dropped: list[Dropped] = []
    for vname in book.venues:
        venue = book.spec.venue(vname)
        s_assets = sells.get(vname, {})
        b_assets = buys.get(vname, {})
        if not s_assets and not b_assets:
            continue
        if venue.pairing is Pairing.DIRECT:
            _pair_direct(book, venue, s_assets, b_assets, legs, dropped)
        else:
            _pair_via_quote(book, venue, s_assets, b_assets, legs, dropped)
    return legs, dropped


def _split_holdings(book: _Book, asset: str, venue: str, amount: int) -> list[tuple[Position, int]]:
    """Spread a sell of `amount` micro-USD over the asset's liquid holdings there, largest first."""
    out = []
    for p in book.sellable(asset, venue):
        if amount <= 0:
            break
        take = min(amount, book.micro[p.holding])
        if take > 0:
            out.append((p, take))
            amount -= take
    return out


def _pair_direct(
    book: _Book,
    venue: VenueSpec,
    s_assets: dict[str, int],
    b_assets: dict[str, int],
    legs: list[_Leg],
    dropped: list[Dropped],
) -> None:
    sellers = [
        (p, amt)
        for a in sorted(s_assets)
        for p, amt in _split_holdings(book, a, venue.name, s_assets[a])
    ]
    sellers.sort(key=lambda x: (-x[1], x[0].holding))
    buyers = sorted(
        ((book.buy_holding(a, venue.name), amt) for a, amt in b_assets.items()),
        key=lambda x: (-x[1], x[0].holding),
    )
    spent: dict[str, int] = defaultdict(int)
    i = j = 0
    s_left = sellers[0][1] if sellers else 0
    b_left = buyers[0][1] if buyers else 0
    while i < len(sellers) and j < len(buyers):
        amt = min(s_left, b_left)
        sp, bp = sellers[i][0], buyers[j][0]
        # the last leg out of a holding that is sold entirely takes exactly what is left of it
        whole = s_left == amt and sellers[i][1] == book.micro[sp.holding]
        leg = _leg(venue, 1, sp, bp, amt, spent, whole=whole)
        _keep_or_drop(venue, leg, sp, bp, amt, legs, dropped)
        s_left -= amt
        b_left -= amt
        if s_left == 0:
            i += 1
            s_left = sellers[i][1] if i < len(sellers) else 0
        if b_left == 0:
            j += 1
            b_left = buyers[j][1] if j < len(buyers) else 0


def _pair_via_quote(
    book: _Book,
    venue: VenueSpec,
    s_assets: dict[str, int],
    b_assets: dict[str, int],
    legs: list[_Leg],
    dropped: list[Dropped],
) -> None:
    """Sells into the quote, then buys with it. Amounts are settled first (`_settle_via_quote`) so
    that no sale is made for a buy that gets dropped as too small, then turned into raw legs; each
    buy spends its share of the raw quote actually there, rounded down."""
    q = book.quote[venue.name]
    qa = venue.quote
    sells, x_q, buys, y_q, small = _settle_via_quote(venue, s_assets, b_assets)
    for side, asset, amount in small:
        sa, ba = (asset, qa) if side == "sell" else (qa, asset)
        dropped.append(
            Dropped(
                venue.name,
                sa,
                ba,
                _usd(amount),
                f"below the {venue.name} minimum trade of ${venue.min_trade_usd:,}",
            )
        )
    spent: dict[str, int] = defaultdict(int)
    funds_raw = min(_raw_of(x_q, q), q.raw) if x_q else 0
    spent[q.holding] += funds_raw
    for a in sorted(sells):
        for sp, part in _split_holdings(book, a, venue.name, sells[a]):
            leg = _leg(venue, 0, sp, q, part, spent, whole=part == book.micro[sp.holding])
            if _keep_or_drop(venue, leg, sp, q, part, legs, dropped):
                funds_raw += leg.buy_raw
    demand = sum(buys.values()) + y_q
    if funds_raw <= 0 or demand <= 0:
        return
    for b in sorted(buys, key=lambda b: (-buys[b], b)):
        bp = book.buy_holding(b, venue.name)
        q_raw = funds_raw * buys[b] // demand
        leg = _leg_raw(venue, 2, q, bp, q_raw, _value(q_raw, q))
        _keep_or_drop(venue, leg, q, bp, buys[b], legs, dropped)


def _settle_via_quote(venue: VenueSpec, s_assets: dict[str, int], b_assets: dict[str, int]):
    """Consistent amounts (micro-USD) for a VIA_QUOTE venue: every sell and buy at least the
    venue minimum, and the quote the sells return (after costs) plus the quote's own sale equal to
    what the buys and the quote's own purchase take. Returns (sells, quote sold, buys, quote
    bought, dropped [(side, asset, amount)])."""
    qa = venue.quote
    keep = 10_000 - venue.cost_bps  # quote returned per unit sold, in basis points
    floor = _micro(venue.min_trade_usd)
    sells = {a: v for a, v in s_assets.items() if a != qa and v > 0}
    buys = {b: v for b, v in b_assets.items() if b != qa and v > 0}
    x_q, y_q = s_assets.get(qa, 0), b_assets.get(qa, 0)
    small: dict[tuple[str, str], int] = {}
    for _ in range(8):
        changed = False
        for side, book in (("sell", sells), ("buy", buys)):
            for a in sorted(book):
                if book[a] < floor:
                    small[(side, a)] = max(small.get((side, a), 0), book.pop(a))
                    changed = True
        funds = x_q + sum(sells.values()) * keep // 10_000
        demand = sum(buys.values()) + y_q
        if demand > funds:  # not enough quote: scale the buys (and the quote's own share) down
            buys = {b: v * funds // demand for b, v in buys.items()}
            y_q = y_q * funds // demand if demand else 0
            changed = True
        elif funds > demand:  # buys were dropped or capped: sell less, asset sales first
            excess = funds - demand
            total = sum(sells.values())
            cut = min(total, excess * 10_000 // keep if keep else total)
            if cut:
                sells = {a: v - v * cut // total for a, v in sells.items()}
                changed = True
            funds = x_q + sum(sells.values()) * keep // 10_000
            if funds > demand:
                x_q = max(0, x_q - (funds - demand))
        if not changed:
            break
    for side, a in list(small):
        if (sells if side == "sell" else buys).get(a):
            del small[(side, a)]
    return sells, x_q, buys, y_q, [(side, a, v) for (side, a), v in sorted(small.items())]


def _leg(
    venue: VenueSpec,
    phase: int,
    sp: Position,
    bp: Position,
    amount: int,
    spent: dict[str, int],
    *,
    whole: bool,
) -> _Leg:
    """A leg selling `amount` micro-USD of `sp` into `bp`; raw rounded down, never past the "
    "holding."""
    left = sp.raw - spent[sp.holding]
    raw = left if whole else min(_raw_of(amount, sp), left)
    spent[sp.holding] += raw
    return _leg_raw(venue, phase, sp, bp, raw, _value(raw, sp))


def _leg_raw(
    venue: VenueSpec, phase: int, sp: Position, bp: Position, sell_raw: int, notional: Decimal
) -> _Leg:
    fee = notional * venue.fee_bps / BPS
    slip = notional * venue.slippage_bps / BPS
    net = notional - fee - slip
    buy_raw = (
        int((net / bp.price_usd).scaleb(bp.decimals).to_integral_value(rounding=ROUND_DOWN))
        if net > 0
        else 0
    )
    return _Leg(venue.name, phase, sp, bp, sell_raw, buy_raw, notional, fee, slip)


def _keep_or_drop(
    venue: VenueSpec,
    leg: _Leg,
    sp: Position,
    bp: Position,
    amount: int,
    legs: list[_Leg],
    dropped: list[Dropped],
) -> bool:
    if leg.sell_raw <= 0 or leg.buy_raw <= 0:
        dropped.append(
            Dropped(venue.name, sp.asset, bp.asset, _usd(amount), "rounds to zero units")
        )
        return False
    if leg.notional < venue.min_trade_usd:
        dropped.append(
            Dropped(
                venue.name,
                sp.asset,
                bp.asset,
                leg.notional,
                f"below the {venue.name} minimum trade of ${venue.min_trade_usd:,}",
            )
        )
        return False
    legs.append(leg)
    return True


# --- 5: order, drift removed ------------------------------------------------------------------


def _finish(legs: list[_Leg], report: DriftReport) -> tuple[Trade, ...]:
    legs = sorted(legs, key=lambda lg: (lg.venue, lg.phase))  # stable: keeps pairing order inside
    dev = {r.name: r.drift_usd for r in report.assets if r.drift_usd is not None}
    trades: list[Trade] = []
    sells_at: dict[str, list[int]] = defaultdict(list)
    for step, lg in enumerate(legs):
        a, b = lg.sell.asset, lg.buy.asset
        received = _value(lg.buy_raw, lg.buy)
        before = abs(dev.get(a, ZERO)) + abs(dev.get(b, ZERO))
        dev[a] = dev.get(a, ZERO) - lg.notional
        dev[b] = dev.get(b, ZERO) + received
        removed = before - abs(dev[a]) - abs(dev[b])
        funded_by = tuple(sells_at[lg.venue]) if lg.phase == 2 else ()
        if lg.phase == 0:
            sells_at[lg.venue].append(step)
        trades.append(
            Trade(
                step=step,
                venue=lg.venue,
                sell_asset=a,
                sell_holding=lg.sell.holding,
                sell_raw=lg.sell_raw,
                sell_decimals=lg.sell.decimals,
                buy_asset=b,
                buy_holding=lg.buy.holding,
                buy_raw=lg.buy_raw,
                buy_decimals=lg.buy.decimals,
                notional_usd=lg.notional,
                fee_usd=lg.fee,
                slippage_usd=lg.slippage,
                drift_removed_usd=removed,
                funded_by=funded_by,
            )
        )
    return tuple(trades)


def _shortfalls(book: _Book, goal: Goal, trades: tuple[Trade, ...]) -> tuple[Shortfall, ...]:
    """Must-moves the trades do not make (net of quote transit), beyond the costs and a cent."""
    net: dict[str, Decimal] = defaultdict(Decimal)  # USD notional bought minus sold, per asset
    for t in trades:
        net[t.sell_asset] -= t.notional_usd
        net[t.buy_asset] += t.notional_usd
    out = []
    tolerance = Decimal("0.01") + sum((t.expected_cost_usd for t in trades), ZERO)
    for m in goal.moves:
        where = book.venues_of.get(m.asset, [])
        unmet_sell = m.must_sell - max(-net[m.asset], ZERO)
        unmet_buy = m.must_buy - max(net[m.asset], ZERO)
        if m.must_sell and unmet_sell > tolerance:
            why = (
                "no liquid holding to sell from"
                if not where
                else f"no buyer reachable at {', '.join(where)}"
            )
            out.append(Shortfall(m.asset, "sell", unmet_sell, why))
        if m.must_buy and unmet_buy > tolerance:
            why = (
                "no liquid holding to buy into"
                if not where
                else (
                    f"{', '.join(where)} lacks the cash for it (cross-venue transfers are out "
                    f"of scope)"
                )
            )
            out.append(Shortfall(m.asset, "buy", unmet_buy, why))
    return tuple(out)


# --- units ------------------------------------------------------------------------------------


def _micro(usd: Decimal | None) -> int:
    """USD -> integer micro-USD, rounded down (the flow never promises more than exists)."""
    if usd is None or usd <= 0:
        return 0
    return int((usd * MICRO).to_integral_value(rounding=ROUND_DOWN))


def _usd(micro: int) -> Decimal:
    return Decimal(micro) / MICRO


def _raw_of(micro: int, p: Position) -> int:
    """Raw units of `p` worth `micro` micro-USD at its price, rounded down."""
    tokens = Decimal(micro) / MICRO / p.price_usd
    return int(tokens.scaleb(p.decimals).to_integral_value(rounding=ROUND_DOWN))


def _value(raw: int, p: Position) -> Decimal:
    return to_decimal(raw, p.decimals) * p.price_usd
