"""What tax-aware planning knows about the treasury's taxes, as one plain value: `TaxContext`.

The CLI layer builds it (it reads the lots CSV, replays it with `keeper.tax.replay`, resolves the
config's settings); the planner only reads it. It owns the small lookups every tax step shares:
which lots a sale on a venue may consume, an asset's legal kind, the year's realised gains so far,
and the conversion between USD (the planner's unit) and the profile's reporting currency.

A treasury that is not taxable has no `TaxContext` at all (`decide(..., tax=None)`): the planner
then makes exactly the plans it makes without tax.

This module must not do I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal, localcontext

from keeper.core.portfolio import Snapshot
from keeper.money import MONEY_CONTEXT, ZERO
from keeper.tax.estimate import totals_by_category
from keeper.tax.harvest import HarvestSettings
from keeper.tax.jurisdictions import TaxProfile
from keeper.tax.model import AssetKind, Lot, LotPolicy, RealisedGain, TaxCategory
from keeper.tax.planning import best_policy
from keeper.tax.selection import lots_by_asset
from keeper.tax.wash_sale import group_of

POOLED = frozenset({LotPolicy.AVERAGE, LotPolicy.UK_MATCHING})


@dataclass(frozen=True)
class TaxContext:
    """The tax facts and settings one planning pass uses.

    `lots` are the open lots (raw quantities in the lots' decimals, basis in the profile's
    currency); `history` the realised sales (the wash-sale look-back and the year so far).
    `accounts` maps a venue to the lot accounts it sells from (a venue missing from it may sell
    any lot of the asset). `fx_usd` is USD per unit of the profile's currency (1 for USD).
    `policy` None: the tax-minimising method where allowed (`tax_min_default`), else the law's
    default. `harvest` None turns loss-harvest pairs off; the signal itself is always available.
    """

    profile: TaxProfile
    lots: tuple[Lot, ...] = ()
    history: tuple[RealisedGain, ...] = ()
    policy: LotPolicy | None = None
    tax_min_default: bool = True
    fx_usd: Decimal = Decimal(1)
    accounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    kinds: Mapping[str, AssetKind] = field(default_factory=dict)
    substitutes: Mapping[str, str] = field(default_factory=dict)
    identical: Mapping[str, str] | None = None
    harvest: HarvestSettings | None = None
    _by_asset: dict[str, list[Lot]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.fx_usd, Decimal) or self.fx_usd <= 0:
            raise ValueError("TaxContext.fx_usd must be a positive Decimal (USD per unit)")
        object.__setattr__(self, "_by_asset", lots_by_asset(self.lots))

    # --- lookups -----------------------------------------------------------------------------

    @staticmethod
    def when(snapshot: Snapshot) -> datetime:
        """The moment a plan for `snapshot` is made, as an aware datetime (UTC)."""
        return datetime.fromtimestamp(snapshot.taken_at, tz=UTC)

    def ytd(self, when: datetime) -> dict[TaxCategory, Decimal]:
        """Realised gains by category this tax year, before `when` (wash-sale adjusted)."""
        year = self.profile.tax_year(when)
        return totals_by_category(
            (r for r in self.history if r.sold_at <= when), self.profile, year
        )

    def kind_of(self, asset: str) -> AssetKind:
        """Security or crypto: the config's word, else the lots', else a past sale's, else
        crypto."""
        if asset in self.kinds:
            return self.kinds[asset]
        held = self._by_asset.get(asset)
        if held:
            return held[0].kind
        return next((r.kind for r in self.history if r.asset == asset), AssetKind.CRYPTO)

    def lots_of(self, asset: str) -> list[Lot]:
        return self._by_asset.get(asset, [])

    def group(self, asset: str) -> str:
        return group_of(asset, self.identical)

    def policy_for(self, lot: Lot) -> LotPolicy:
        """The configured lot method; else the tax-minimising one where the law allows it
        (`tax_min_default`, seed 000's "prefer selling 1yr+ positions"), or the law's default."""
        if self.policy is not None:
            return self.policy
        if self.tax_min_default:
            return best_policy(self.profile, lot)
        return self.profile.default_policy(lot.kind)

    def pooled(self, kind: AssetKind) -> bool:
        """Whether sales of this kind match a pool (UK, average cost) rather than one account."""
        return bool(set(self.profile.rules(kind).policies) & POOLED)

    def sale_lots(self, held: list[Lot], venue: str) -> list[Lot]:
        """Of `held` (lots of one asset), those a sale on `venue` consumes: the venue's accounts
        (US crypto and DE are per wallet, a broker sells what it holds), or every lot where the
        law pools holdings (UK, average cost) or the venue has no mapped account."""
        if not held or self.pooled(held[0].kind) or venue not in self.accounts:
            return held
        accounts = self.accounts[venue]
        return [lot for lot in held if lot.account in accounts]

    def to_ccy(self, usd: Decimal) -> Decimal:
        """USD -> the profile's currency."""
        with localcontext(MONEY_CONTEXT):
            return usd / self.fx_usd

    def to_usd(self, amount: Decimal) -> Decimal:
        with localcontext(MONEY_CONTEXT):
            return amount * self.fx_usd


def asset_prices(snapshot: Snapshot) -> dict[str, Decimal]:
    """USD price per whole token of each priced asset (its first priced holding by id)."""
    prices: dict[str, Decimal] = {}
    for p in snapshot.positions:
        if p.price_usd is not None and p.asset not in prices:
            prices[p.asset] = p.price_usd
    return prices


def to_lot_units(raw: int, decimals: int, lot_decimals: int) -> int:
    """A position's raw amount in the lots' raw units; rounded up when the lots count coarser
    units (selling 2.5 shares consumes 3 whole-share lot units: never under-count a sale)."""
    if lot_decimals >= decimals:
        return raw * 10 ** (lot_decimals - decimals)
    step = 10 ** (decimals - lot_decimals)
    return int((Decimal(raw) / step).to_integral_value(rounding=ROUND_CEILING))


def to_position_units(raw: int, lot_decimals: int, decimals: int) -> int:
    """Lot raw units -> a position's raw units, rounded down (never sell more than the lots)."""
    if decimals >= lot_decimals:
        return raw * 10 ** (decimals - lot_decimals)
    return raw // 10 ** (lot_decimals - decimals)


__all__ = ["TaxContext", "asset_prices", "to_lot_units", "to_position_units", "ZERO"]
