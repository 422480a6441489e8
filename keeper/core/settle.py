"""Settling a VIA_QUOTE venue (a CEX, a broker): what each asset sells into the quote and buys
with it, so that every leg clears the venue's minimum and the quote the sales return pays for
exactly the buys.

The matching hands over per-asset amounts; pairing through the quote cannot fragment a buy over
several sellers, but sharing the venue's funds can: $2,000 of sales split over four buys of $500
under a $1,000 minimum drops all four. Settling therefore:

1. raises a must-sale just under the minimum to it, when the asset's range allows (`hi_sell`,
   from `keeper.core.consolidate.Room`): a $964 sale of an asset past its hard limit becomes a
   $1,000 one instead of nothing;
2. chooses the buys the funds can bring to the minimum (must first, then the larger need) and
   shares the rest among them, so the funds buy two legs of $1,000 rather than four of $500
   that would all be dropped; surplus goes to the chosen buys and the quote within their range;
3. only when the buys cannot take all the quote are the sales cut, each kept at the minimum
   where it can be, then the quote's own cash, then the smallest sale dropped.

Amounts are integer micro-USD. This module must not do I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

Side = str  # "sell" | "buy"


def settle_via_quote(
    quote: str,
    cost_bps: int,
    floor: int,
    s_assets: Mapping[str, int],
    b_assets: Mapping[str, int],
    *,
    unit_floor: Mapping[str, int] | None = None,
    sell_floor: Mapping[str, int] | None = None,
    hi_sell: Mapping[str, int] | None = None,
    hi_buy: Mapping[str, int] | None = None,
    must: frozenset[str] = frozenset(),
) -> tuple[dict[str, int], int, dict[str, int], int, list[tuple[Side, str, int]]]:
    """(sells, quote sold, buys, quote bought, dropped [(side, asset, amount)]).

    `unit_floor` is the least a buy must spend to get one raw unit of its asset; `sell_floor` the
    venue minimum rounded up to whole raw units of what a sale sells (a $1,000 minimum is four
    $300 shares, not three and a third); `hi_sell` and
    `hi_buy` the most each asset may sell or buy on this venue and stay within range (absent: what
    the flow asked); `must` the assets with a must-move (only those sales are raised to the
    minimum; must-buys are served first).
    """
    keep = 10_000 - cost_bps  # quote returned per unit sold, in basis points
    units = unit_floor or {}
    hs, hb = hi_sell or {}, hi_buy or {}
    need = {b: v for b, v in b_assets.items() if b != quote and v > 0}
    x_q, y_need = s_assets.get(quote, 0), b_assets.get(quote, 0)
    small: list[tuple[Side, str, int]] = []
    sells: dict[str, int] = {}
    for a in sorted(s_assets):
        x = s_assets[a]
        if a == quote or x <= 0:
            continue
        least = max(floor, (sell_floor or {}).get(a, floor))
        if x < least and a in must and hs.get(a, 0) >= least:
            x = least  # 1. a must-sale just under the minimum, raised to it
        if x < least:
            small.append(("sell", a, x))
        else:
            sells[a] = x
    buys: dict[str, int] = {}
    y_q = 0
    for _ in range(len(sells) + 2):
        funds = x_q + sum(sells.values()) * keep // 10_000
        buys, y_q, left = _allocate(funds, need, y_need, quote, hb, must, floor, units)
        if left <= 0:
            break
        # 3. more quote than the buys may take: sell less, keeping each sale at the minimum,
        # then spend less of the quote's own cash, then drop the smallest sale
        cut = -(-left * 10_000 // keep) if keep else sum(sells.values())
        for a in sorted(sells, key=lambda a: (-sells[a], a)):
            take = min(cut, sells[a] - floor)
            if take > 0:
                sells[a] -= take
                cut -= take
        if cut > 0 and x_q:
            spare = min(x_q, cut * keep // 10_000 + 1)
            x_q -= spare
            cut -= spare * 10_000 // keep
        if cut > 0 and sells:
            a = min(sells, key=lambda a: (sells[a], a))
            small.append(("sell", a, sells.pop(a)))
            continue
        funds = x_q + sum(sells.values()) * keep // 10_000
        buys, y_q, left = _allocate(funds, need, y_need, quote, hb, must, floor, units)
        x_q = max(0, x_q - max(0, left))
        break
    small += [("buy", b, v) for b, v in need.items() if b not in buys]
    return sells, x_q, buys, y_q, sorted(small, key=lambda t: (t[0], t[1]))


def _allocate(
    funds: int,
    need: Mapping[str, int],
    y_need: int,
    quote: str,
    hb: Mapping[str, int],
    must: frozenset[str],
    floor: int,
    units: Mapping[str, int],
) -> tuple[dict[str, int], int, int]:
    """Share `funds` among the buys: (buys, the quote's own purchase, what is left over).

    2. Buys are chosen in order (must first, then the larger need) while the funds can bring each
    to its minimum (a buy under the minimum may be raised to it where its range allows); the rest
    of the funds are shared in proportion to what each still needs, must-buys first, then go to
    the quote's own purchase, then to the chosen buys (must first) and the quote up to their range.
    """
    order = sorted(need, key=lambda b: (b not in must, -need[b], b))
    ceiling = {b: max(need[b], hb.get(b, 0)) for b in need}
    chosen: dict[str, int] = {}
    left = funds
    for b in order:
        least = max(floor, units.get(b, 0))
        if ceiling[b] >= least and left >= least:
            chosen[b] = least
            left -= least
    for tier in (True, False):
        group = [b for b in order if b in chosen and (b in must) is tier]
        left = _share(chosen, {b: need[b] for b in group}, left)
    y_q = min(left, y_need)
    left -= y_q
    for tier in (True, False):
        group = [b for b in order if b in chosen and (b in must) is tier]
        left = _share(chosen, {b: ceiling[b] for b in group}, left)
    if left and quote in hb:
        add = min(left, max(0, hb[quote] - y_q))
        y_q += add
        left -= add
    return chosen, y_q, left


def _share(amounts: dict[str, int], upto: Mapping[str, int], pot: int) -> int:
    """Raise `amounts` toward `upto` with `pot`, in proportion to what each lacks (integers, the
    remainder one unit at a time in name order); returns what is left of the pot."""
    lack = {b: upto[b] - amounts[b] for b in upto if upto[b] > amounts[b]}
    want = sum(lack.values())
    if want <= 0 or pot <= 0:
        return pot
    if pot >= want:
        for b, x in lack.items():
            amounts[b] += x
        return pot - want
    given = {b: pot * x // want for b, x in lack.items()}
    rest = pot - sum(given.values())
    for b in sorted(lack):
        if rest and given[b] < lack[b]:
            given[b] += 1
            rest -= 1
    for b, x in given.items():
        amounts[b] += x
    return 0
