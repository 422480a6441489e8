"""Import of a lot history from CSV text (format: docs/tax-lots-csv.md).

This module owns parsing and validating the CSV into ledger events, one clear error per bad cell
("lots.csv:7: quantity: '1.5.0' is not a number; write it like 0.25"). It takes text, not a
path: reading the file is the caller's job (the CLI), so this stays pure and testable.

Columns (header row required, any order, case-insensitive; lines starting with # are comments):
date, type (buy | sell | transfer), asset, kind (security | crypto), account, quantity,
decimals, amount, fee, to_account, lot_id, note.
"""

from __future__ import annotations

import csv
import difflib
import io
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from keeper.errors import ConfigError
from keeper.money import ZERO, to_raw
from keeper.tax.ledger import Acquisition, Event, Sale, Transfer
from keeper.tax.model import AssetKind

REQUIRED = ("date", "type", "asset", "kind", "account", "quantity", "decimals")
OPTIONAL = ("amount", "fee", "to_account", "lot_id", "note")
TYPES = ("buy", "sell", "transfer")


def parse_lots_csv(text: str, *, source: str = "lots.csv", timezone: str = "UTC") -> list[Event]:
    """Parse a lot history. Date-only cells are midnight in `timezone` (the profile's zone)."""
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise ConfigError(f"{source}: no rows; see docs/tax-lots-csv.md for the format")
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    reader.fieldnames = header
    for column in header:
        if column and column not in REQUIRED + OPTIONAL:
            close = difflib.get_close_matches(column, REQUIRED + OPTIONAL, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{source}:1: unknown column '{column}'{hint}")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ConfigError(
            f"{source}:1: missing column(s) {', '.join(missing)}; see docs/tax-lots-csv.md"
        )
    zone = ZoneInfo(timezone)
    decimals_of: dict[str, int] = {}
    kind_of: dict[str, AssetKind] = {}
    events: list[Event] = []
    line_numbers = _data_line_numbers(text)
    rows = list(reader)
    if len(rows) != len(line_numbers):
        raise ConfigError(f"{source}: a quoted cell spans lines; keep every row on one line")
    for row, line in zip(rows, line_numbers, strict=True):
        where = f"{source}:{line}"
        cell = _Cells(row, where)
        kind_name = cell.choice("type", TYPES)
        asset = cell.text("asset")
        kind = AssetKind(cell.choice("kind", tuple(k.value for k in AssetKind)))
        decimals = cell.integer("decimals", 0, 77)
        if decimals_of.setdefault(asset, decimals) != decimals:
            raise ConfigError(
                f"{where}: decimals: {asset} was given {decimals_of[asset]} decimals earlier; "
                "use one value"
            )
        if kind_of.setdefault(asset, kind) is not kind:
            raise ConfigError(
                f"{where}: kind: {asset} was given kind {kind_of[asset].value} earlier; "
                "use one value"
            )
        at = cell.moment("date", zone)
        account = cell.text("account")
        quantity_raw = cell.quantity("quantity", decimals)
        event_id = cell.optional("lot_id") or f"L{line}"
        if kind_name == "buy":
            amount = cell.money("amount")
            fee = cell.money("fee", default=ZERO)
            events.append(
                Acquisition(
                    event_id, at, asset, kind, account, quantity_raw, decimals, amount + fee
                )
            )
        elif kind_name == "sell":
            amount = cell.money("amount")
            fee = cell.money("fee", default=ZERO)
            events.append(
                Sale(
                    f"S{line}",
                    at,
                    asset,
                    kind,
                    account,
                    quantity_raw,
                    decimals,
                    amount - fee,
                    cell.optional("lot_id"),
                )
            )
        else:
            to_account = cell.text("to_account")
            if cell.optional("fee") or cell.optional("amount"):
                raise ConfigError(
                    f"{where}: fee: a transfer carries no amount or fee; record a fee paid in "
                    "the asset as its own sell row (it is a disposal)"
                )
            if to_account == account:
                raise ConfigError(
                    f"{where}: to_account: same as account; "
                    "a transfer moves units between two accounts"
                )
            events.append(
                Transfer(f"T{line}", at, asset, kind, account, to_account, quantity_raw, decimals)
            )
    return events


def _data_line_numbers(text: str) -> list[int]:
    numbers = [
        n
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return numbers[1:]  # the first is the header


class _Cells:
    """Typed access to one row's cells, each failure one line naming the cell and the fix."""

    def __init__(self, row: dict[str, str | None], where: str):
        self.row = row
        self.where = where

    def _raw(self, name: str) -> str:
        value = self.row.get(name)
        return (value or "").strip()

    def fail(self, name: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {name}: {problem}")

    def text(self, name: str) -> str:
        value = self._raw(name)
        if not value:
            raise self.fail(name, "is empty; fill it in")
        return value

    def optional(self, name: str) -> str | None:
        return self._raw(name) or None

    def choice(self, name: str, options: tuple[str, ...]) -> str:
        value = self.text(name).lower()
        if value not in options:
            close = difflib.get_close_matches(value, options, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise self.fail(name, f"'{value}' is not one of {', '.join(options)}{hint}")
        return value

    def integer(self, name: str, low: int, high: int) -> int:
        value = self.text(name)
        try:
            number = int(value)
        except ValueError:
            raise self.fail(name, f"'{value}' is not a whole number") from None
        if not low <= number <= high:
            raise self.fail(name, f"{number} is outside {low}..{high}")
        return number

    def money(self, name: str, *, default: Decimal | None = None) -> Decimal:
        value = self._raw(name)
        if not value:
            if default is not None:
                return default
            raise self.fail(
                name, "is empty; give the total in the reporting currency, e.g. 1234.56"
            )
        try:
            amount = Decimal(value.replace("_", ""))
        except InvalidOperation:
            raise self.fail(name, f"'{value}' is not a number; write it like 1234.56") from None
        if not amount.is_finite() or amount < 0:
            raise self.fail(name, f"'{value}' must be a non-negative number")
        return amount

    def quantity(self, name: str, decimals: int) -> int:
        value = self.text(name)
        try:
            amount = Decimal(value.replace("_", ""))
        except InvalidOperation:
            raise self.fail(name, f"'{value}' is not a number; write it like 0.25") from None
        if not amount.is_finite() or amount <= 0:
            raise self.fail(name, f"'{value}' must be positive")
        raw = to_raw(amount, decimals)
        if Decimal(raw).scaleb(-decimals) != amount:
            raise self.fail(
                name, f"'{value}' has more than {decimals} decimal places (the decimals column)"
            )
        return raw

    def moment(self, name: str, zone: ZoneInfo) -> datetime:
        value = self.text(name)
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=zone)
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(
                name, f"'{value}' is not an ISO date; write 2024-03-15 or 2024-03-15T14:30:00Z"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment
