"""UK share and token identification: same day, then 30 days after, then the Section 104 pool.

This module owns the matching of one asset's disposals with its acquisitions under TCGA 1992, as
HMRC's manuals describe it for shares (CG51560, CG51575) and for cryptoassets (CRYPTO22200):

1. Same day (s105(1)): all acquisitions of a day are one acquisition, all disposals of a day one
   disposal; the disposal is matched with that day's acquisition first.
2. Bed and breakfast (s106A(5)): what remains is matched with acquisitions in the 30 days after
   the disposal, earliest acquisition first; disposals are served in date order, so an
   acquisition within 30 days of two disposals goes to the earlier one (CRYPTO22253).
3. Section 104 pool (s104): everything else comes out of the pool at its average cost; the
   unmatched part of every acquisition joins the pool on its date.

Costs of a partly matched acquisition are apportioned by quantity (HMRC: "£100 x (300 / 500)").
Amounts are exact `Decimal`s; HMRC's examples round each line to whole pounds, so they can differ
from these by under £1. A disposal in the last 30 days is provisional: a later acquisition can
re-match it. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext

from keeper.errors import ConfigError
from keeper.money import MONEY_CONTEXT, ZERO

B_AND_B_DAYS = 30


@dataclass(frozen=True, slots=True)
class UkTrade:
    """One acquisition (`is_buy`) or disposal of the asset: quantity in raw units, cost or net
    proceeds in GBP."""

    day: date
    is_buy: bool
    quantity_raw: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class UkMatch:
    rule: str  # "same_day" | "bed_and_breakfast" | "section_104"
    quantity_raw: int
    cost: Decimal
    acquired: date | None  # the acquisition day for same-day and 30-day matches


@dataclass(frozen=True, slots=True)
class UkDisposal:
    """All disposals of one day, as one disposal, with the acquisitions they were matched to."""

    day: date
    quantity_raw: int
    proceeds: Decimal
    matches: tuple[UkMatch, ...]

    @property
    def cost(self) -> Decimal:
        return sum((m.cost for m in self.matches), ZERO)

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.cost


@dataclass(frozen=True, slots=True)
class PoolEntry:
    """The Section 104 pool after one day's movements."""

    day: date
    quantity_raw: int
    cost: Decimal


@dataclass(frozen=True, slots=True)
class UkResult:
    disposals: tuple[UkDisposal, ...]
    pool: tuple[PoolEntry, ...]  # one entry per day the pool changed

    @property
    def pool_quantity_raw(self) -> int:
        return self.pool[-1].quantity_raw if self.pool else 0

    @property
    def pool_cost(self) -> Decimal:
        return self.pool[-1].cost if self.pool else ZERO


def match_uk(trades: Iterable[UkTrade], *, asset: str = "asset") -> UkResult:
    """Match every disposal of one asset under the same-day, 30-day and Section 104 rules."""
    buys: dict[date, list] = {}  # day -> [qty, cost, qty_left, cost_left]
    sells: dict[date, list] = {}  # day -> [qty, proceeds, qty_left]
    for t in trades:
        if t.quantity_raw <= 0:
            raise ValueError(f"{asset}: trade quantities must be positive")
        if t.is_buy:
            b = buys.setdefault(t.day, [0, ZERO, 0, ZERO])
            b[0] += t.quantity_raw
            b[1] += t.amount
            b[2] += t.quantity_raw
            b[3] += t.amount
        else:
            s = sells.setdefault(t.day, [0, ZERO, 0])
            s[0] += t.quantity_raw
            s[1] += t.amount
            s[2] += t.quantity_raw
    matches: dict[date, list[UkMatch]] = {day: [] for day in sells}

    with localcontext(MONEY_CONTEXT):

        def take(buy_day: date, qty: int) -> Decimal:
            b = buys[buy_day]
            cost = (
                b[3] * qty / b[2]
            )  # apportioned by the quantity still unmatched (exact remainder)
            b[2] -= qty
            b[3] -= cost
            return cost

        for day in sorted(sells):  # 1. same day
            if day in buys:
                qty = min(sells[day][2], buys[day][2])
                if qty:
                    matches[day].append(UkMatch("same_day", qty, take(day, qty), day))
                    sells[day][2] -= qty

        buy_days = sorted(buys)
        for day in sorted(sells):  # 2. the 30 days after, earliest acquisition first
            for buy_day in buy_days:
                if sells[day][2] == 0:
                    break
                if not day < buy_day <= day + timedelta(days=B_AND_B_DAYS) or buys[buy_day][2] == 0:
                    continue
                qty = min(sells[day][2], buys[buy_day][2])
                matches[day].append(UkMatch("bed_and_breakfast", qty, take(buy_day, qty), buy_day))
                sells[day][2] -= qty

        pool_qty, pool_cost = 0, ZERO  # 3. the Section 104 pool, in date order
        history: list[PoolEntry] = []
        for day in sorted(set(buys) | set(sells)):
            changed = False
            if day in buys and buys[day][2]:
                pool_qty += buys[day][2]
                pool_cost += buys[day][3]
                buys[day][2], buys[day][3] = 0, ZERO
                changed = True
            if day in sells and sells[day][2]:
                qty = sells[day][2]
                if qty > pool_qty:
                    raise ConfigError(
                        f"{asset}: the disposal on {day.isoformat()} exceeds the units held; "
                        f"import the missing acquisitions"
                    )
                cost = pool_cost * qty / pool_qty
                matches[day].append(UkMatch("section_104", qty, cost, None))
                pool_qty -= qty
                pool_cost -= cost
                sells[day][2] = 0
                changed = True
            if changed:
                history.append(PoolEntry(day, pool_qty, pool_cost))

    disposals = tuple(
        UkDisposal(day, sells[day][0], sells[day][1], tuple(matches[day])) for day in sorted(sells)
    )
    return UkResult(disposals=disposals, pool=tuple(history))
