"""Helpers for the tax tests: timestamps, lots and ledger events built from plain values.

A module with a unique name (not conftest) so that `from tax_helpers import ...` cannot pick up
another folder's conftest."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from keeper.money import ZERO
from keeper.tax.ledger import Acquisition, Sale, Transfer
from keeper.tax.model import AssetKind, Lot

NOON = time(12, 0)


def at(day: str, zone: str = "UTC") -> datetime:
    """Noon on `day` (ISO date) in `zone`: the same calendar date in every profile's zone."""
    return datetime.combine(datetime.fromisoformat(day).date(), NOON, tzinfo=ZoneInfo(zone))


def lot(
    lot_id: str,
    asset: str,
    quantity_raw: int,
    cost: str | int,
    day: str,
    *,
    kind: AssetKind = AssetKind.SECURITY,
    account: str = "broker",
    decimals: int = 0,
) -> Lot:
    moment = at(day)
    return Lot(lot_id, asset, kind, account, quantity_raw, decimals, Decimal(cost), moment, moment)


def buy(event_id, day, asset, qty, cost, *, kind=AssetKind.SECURITY, account="broker", decimals=0):
    return Acquisition(event_id, at(day), asset, kind, account, qty, decimals, Decimal(cost))


def sell(
    event_id,
    day,
    asset,
    qty,
    proceeds,
    *,
    kind=AssetKind.SECURITY,
    account="broker",
    decimals=0,
    lot_id=None,
):
    return Sale(event_id, at(day), asset, kind, account, qty, decimals, Decimal(proceeds), lot_id)


def move(event_id, day, asset, qty, src, dst, *, kind=AssetKind.CRYPTO, decimals=0):
    return Transfer(event_id, at(day), asset, kind, src, dst, qty, decimals)


def conservation_violations(events, result) -> list[str]:
    """Units and basis per asset: acquired == open + sold (basis: + disallowed moved in)."""
    problems = []
    acquired_qty: dict[str, int] = defaultdict(int)
    acquired_cost: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in events:
        if isinstance(e, Acquisition):
            acquired_qty[e.asset] += e.quantity_raw
            acquired_cost[e.asset] += e.cost
    for asset in acquired_qty:
        open_qty = sum(x.quantity_raw for x in result.lots if x.asset == asset)
        sold_qty = sum(r.quantity_raw for r in result.realised if r.asset == asset)
        if open_qty + sold_qty != acquired_qty[asset]:
            problems.append(
                f"{asset}: acquired {acquired_qty[asset]} != open {open_qty} + sold {sold_qty}"
            )
        open_cost = sum((x.cost_basis for x in result.lots if x.asset == asset), ZERO)
        sold_cost = sum(
            (r.cost_basis - r.wash_disallowed for r in result.realised if r.asset == asset), ZERO
        )
        if open_cost + sold_cost != acquired_cost[asset]:
            problems.append(f"{asset}: basis {acquired_cost[asset]} != {open_cost} + {sold_cost}")
    ids = [x.lot_id for x in result.lots]
    if len(ids) != len(set(ids)):
        problems.append("a lot id appears twice among open lots")
    return problems
