"""Helpers for the tax tests: timestamps, lots and ledger events built from plain values.

A module with a unique name (not conftest) so that `from tax_helpers import ...` cannot pick up
another folder's conftest."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

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


def sell(event_id, day, asset, qty, proceeds, *, kind=AssetKind.SECURITY, account="broker", decimals=0, lot_id=None):
    return Sale(event_id, at(day), asset, kind, account, qty, decimals, Decimal(proceeds), lot_id)


def move(event_id, day, asset, qty, src, dst, *, kind=AssetKind.CRYPTO, decimals=0):
    return Transfer(event_id, at(day), asset, kind, src, dst, qty, decimals)
