"""The tax package's value types: lots, the portions of lots a sale consumes, realised results.

This module owns the shapes every other tax module passes around, and the two operations that
must conserve quantity and basis exactly: splitting a lot and allocating proceeds across lots.
Quantities are raw integer token units (with the token's `decimals`); cost basis, proceeds and
gains are `Decimal` in the reporting currency (USD, EUR, GBP). Nothing here reads a clock, a file
or the network, and nothing here knows a jurisdiction's rules (see `jurisdictions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from enum import StrEnum

from keeper.money import MONEY_CONTEXT, ZERO, to_decimal


class AssetKind(StrEnum):
    """What the law treats the asset as; the rules differ by kind in every jurisdiction."""

    SECURITY = "security"  # shares, ETFs, funds, bonds held at a broker
    CRYPTO = "crypto"  # tokens held directly (wallets, exchanges)


class TaxCategory(StrEnum):
    """How a realised gain is taxed. Which categories exist depends on the jurisdiction."""

    SHORT_TERM = "short_term"  # US: held one year or less (ordinary rates)
    LONG_TERM = "long_term"  # US: held more than one year (capital-gain rates)
    PRIVATE_SALE = "private_sale"  # DE §23 EStG: crypto sold within one year (personal rate)
    EXEMPT = "exempt"  # DE §23 EStG: crypto held more than one year; EU holding exemption
    CAPITAL_INCOME = "capital_income"  # DE §20 EStG: securities (flat withholding tax)
    CAPITAL_GAIN = "capital_gain"  # UK CGT and the generic EU profile: one rate for all


class LotPolicy(StrEnum):
    """Which lots a sale consumes."""

    FIFO = "fifo"  # first acquired, first sold
    LIFO = "lifo"  # last acquired, first sold
    HIFO = "hifo"  # highest unit cost first
    TAX_MIN = "tax_min"  # lowest estimated tax per unit first: losses, then long-term gains
    AVERAGE = "average"  # every lot pro rata: average cost (a pool)
    UK_MATCHING = "uk_matching"  # same day, then 30 days, then the Section 104 pool


@dataclass(frozen=True, slots=True)
class Lot:
    """Units of one asset acquired together and still held, in one account.

    `cost_basis` is the total basis of `quantity_raw` units, fees and wash-sale adjustments
    included. `holding_since` starts the holding period; it equals `acquired_at` unless a wash
    sale carried the sold shares' holding period into this lot (IRC §1223(3)). `origin` is the
    acquisition the lot descends from, so splits and transfers stay traceable.
    """

    lot_id: str
    asset: str
    kind: AssetKind
    account: str
    quantity_raw: int
    decimals: int
    cost_basis: Decimal
    acquired_at: datetime
    holding_since: datetime
    origin: str = ""
    wash_adjustment: Decimal = ZERO
    replacement_used: bool = False  # these units already absorbed one disallowed loss

    def __post_init__(self) -> None:
        if not isinstance(self.quantity_raw, int) or isinstance(self.quantity_raw, bool):
            raise TypeError(f"lot {self.lot_id}: quantity_raw must be an int")
        if self.quantity_raw <= 0:
            raise ValueError(
                f"lot {self.lot_id}: quantity_raw must be positive, got {self.quantity_raw}"
            )
        if not isinstance(self.cost_basis, Decimal):
            raise TypeError(
                f"lot {self.lot_id}: cost_basis must be a Decimal (money is never a float)"
            )
        if self.acquired_at.tzinfo is None or self.holding_since.tzinfo is None:
            raise ValueError(f"lot {self.lot_id}: timestamps must be timezone-aware")
        if not self.origin:
            object.__setattr__(self, "origin", self.lot_id)

    @property
    def tokens(self) -> Decimal:
        """Whole tokens (exact)."""
        return to_decimal(self.quantity_raw, self.decimals)

    @property
    def unit_cost(self) -> Decimal:
        """Basis per whole token."""
        with localcontext(MONEY_CONTEXT):
            return self.cost_basis / self.tokens

    def value(self, price: Decimal) -> Decimal:
        """Market value at `price` per whole token."""
        with localcontext(MONEY_CONTEXT):
            return self.tokens * price

    def split(self, quantity_raw: int) -> tuple[Lot, Lot | None]:
        """(the first `quantity_raw` units, the rest or None).

        Basis is apportioned by quantity; the rest gets the exact remainder, so the two parts
        always add up to the whole (nothing is created or lost by rounding).
        """
        if not 0 < quantity_raw <= self.quantity_raw:
            raise ValueError(
                f"lot {self.lot_id}: cannot split {quantity_raw} of {self.quantity_raw} units"
            )
        if quantity_raw == self.quantity_raw:
            return self, None
        with localcontext(MONEY_CONTEXT):
            part_basis = self.cost_basis * quantity_raw / self.quantity_raw
            part_wash = (
                self.wash_adjustment * quantity_raw / self.quantity_raw
                if self.wash_adjustment
                else ZERO
            )
            rest_basis = self.cost_basis - part_basis
            rest_wash = self.wash_adjustment - part_wash
        return self._with(quantity_raw, part_basis, part_wash), self._with(
            self.quantity_raw - quantity_raw, rest_basis, rest_wash
        )

    def _with(self, quantity_raw: int, cost_basis: Decimal, wash_adjustment: Decimal) -> Lot:
        return Lot(
            self.lot_id,
            self.asset,
            self.kind,
            self.account,
            quantity_raw,
            self.decimals,
            cost_basis,
            self.acquired_at,
            self.holding_since,
            self.origin,
            wash_adjustment,
            self.replacement_used,
        )


@dataclass(frozen=True, slots=True)
class LotMatch:
    """The part of one lot that a sale consumed, with its share of the sale's net proceeds."""

    lot: Lot  # quantity_raw and cost_basis are those of the consumed part
    proceeds: Decimal

    @property
    def quantity_raw(self) -> int:
        return self.lot.quantity_raw

    @property
    def gain(self) -> Decimal:
        """Proceeds minus basis; negative is a loss."""
        return self.proceeds - self.lot.cost_basis


@dataclass(frozen=True, slots=True)
class Disposal:
    """One sale (or the sell leg of a swap) and the lots it consumed."""

    asset: str
    account: str | None
    quantity_raw: int
    proceeds: Decimal  # net of fees, reporting currency
    sold_at: datetime
    policy: LotPolicy
    matches: tuple[LotMatch, ...]

    @property
    def cost_basis(self) -> Decimal:
        return sum((m.lot.cost_basis for m in self.matches), ZERO)

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.cost_basis


@dataclass(frozen=True, slots=True)
class RealisedGain:
    """One reportable line: a lot (or part) disposed of, as Form 8949 and the year's totals need it.

    `gain` follows Form 8949 column (h): proceeds - basis + the disallowed wash-sale loss, so a
    fully washed loss reports 0 and the disallowed amount moves into the replacement lot's basis.
    """

    asset: str
    kind: AssetKind
    account: str
    quantity_raw: int
    decimals: int
    acquired_at: (
        datetime | None
    )  # the (possibly tacked) start of holding; None: a UK pool ("various")
    sold_at: datetime
    proceeds: Decimal
    cost_basis: Decimal
    category: TaxCategory
    lot_id: str
    wash_disallowed: Decimal = ZERO
    note: str = ""

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.cost_basis + self.wash_disallowed

    @property
    def tokens(self) -> Decimal:
        return to_decimal(self.quantity_raw, self.decimals)


def allocate(total: Decimal, weights: list[int]) -> list[Decimal]:
    """Split `total` in proportion to integer `weights`; the parts add up to `total` exactly.

    Used for a sale's proceeds across the lots it consumed: every part but the last is
    proportional, the last takes the remainder, so no cent is created or lost.
    """
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("allocate: weights must add up to a positive number")
    parts: list[Decimal] = []
    given = ZERO
    with localcontext(MONEY_CONTEXT):
        for w in weights[:-1]:
            part = total * w / whole
            parts.append(part)
            given += part
        parts.append(total - given)
    return parts
