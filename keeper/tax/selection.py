"""Lot selection: which lots a sale consumes (FIFO, LIFO, HIFO, tax-minimising, average cost).

This module owns the ordering of lots and the exact, conserving consumption of them. It refuses a
method the jurisdiction does not allow (`TaxProfile.check_policy`) and a sale larger than the lots
held. It does not apply re-buy rules (`wash_sale`, `uk_matching`) and does not compute tax
(`estimate`): a `Disposal` lists the lot parts consumed and their share of the proceeds.

Quantities are raw token units; proceeds and basis are `Decimal` in the reporting currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from keeper.errors import ConfigError
from keeper.money import MONEY_CONTEXT, to_decimal
from keeper.tax.jurisdictions import TaxProfile
from keeper.tax.model import Disposal, Lot, LotMatch, LotPolicy, allocate

# Ranking lots compares unit costs; 34 significant digits order them as exactly as the amounts
# warrant (ties fall through to the date and id) at a fraction of the 100-digit money context's
# cost. Amounts themselves are always computed in MONEY_CONTEXT.
RANKING_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)


def lots_by_asset(lots: Iterable[Lot]) -> dict[str, list[Lot]]:
    """Group lots by asset once, so many selections do not each scan every lot."""
    grouped: dict[str, list[Lot]] = defaultdict(list)
    for lot in lots:
        grouped[lot.asset].append(lot)
    return dict(grouped)


def select_lots(
    lots: Iterable[Lot],
    asset: str,
    quantity_raw: int,
    *,
    policy: LotPolicy | None,
    profile: TaxProfile,
    when: datetime,
    price: Decimal | None = None,
    proceeds: Decimal | None = None,
    account: str | None = None,
) -> Disposal:
    """The lots a sale of `quantity_raw` raw units of `asset` consumes.

    `policy` None means the jurisdiction's default for the asset's kind. Give the expected
    `price` per whole token (net of fees) or the sale's total net `proceeds`; the tax-minimising
    method needs one of them to know which lots are at a loss. `account` restricts the sale to
    lots held in that account (a sale can only deliver units the selling venue holds, and US
    crypto basis is tracked per wallet from 2025); None considers every account.
    """
    candidates = [
        lot for lot in lots if lot.asset == asset and (account is None or lot.account == account)
    ]
    where = f" in {account}" if account else ""
    if not candidates:
        raise ConfigError(f"sell {asset}{where}: no lots held; import its acquisitions (lots CSV)")
    kind = candidates[0].kind
    if any(lot.kind is not kind for lot in candidates):
        raise ConfigError(
            f"lots of {asset} disagree on its kind; give every row of {asset} the same kind"
        )
    chosen = policy or profile.default_policy(kind)
    profile.check_policy(kind, chosen)
    if not isinstance(quantity_raw, int) or isinstance(quantity_raw, bool) or quantity_raw <= 0:
        raise ValueError(f"sell {asset}: quantity_raw must be a positive int, got {quantity_raw!r}")
    held = sum(lot.quantity_raw for lot in candidates)
    if quantity_raw > held:
        decimals = candidates[0].decimals
        raise ConfigError(
            f"sell {asset}{where}: {to_decimal(quantity_raw, decimals)} exceeds the "
            f"{to_decimal(held, decimals)} held in lots; import the missing acquisitions"
        )
    if proceeds is None:
        if price is None:
            raise ValueError("select_lots: give the expected price per token or the total proceeds")
        with localcontext(MONEY_CONTEXT):
            proceeds = to_decimal(quantity_raw, candidates[0].decimals) * price
    elif price is None:
        with localcontext(MONEY_CONTEXT):
            price = proceeds / to_decimal(quantity_raw, candidates[0].decimals)

    if chosen in (LotPolicy.AVERAGE, LotPolicy.UK_MATCHING):
        takes = _pro_rata(
            candidates, quantity_raw, profile, when, same_day_first=chosen is LotPolicy.UK_MATCHING
        )
    else:
        takes = _greedy(_ordered(candidates, chosen, profile, when, price), quantity_raw)
    return _disposal(asset, account, quantity_raw, proceeds, when, chosen, takes)


def select_for_rebalance(
    lots: Iterable[Lot] | Mapping[str, Sequence[Lot]],
    sells: Mapping[str, tuple[int, Decimal]],
    *,
    profile: TaxProfile,
    when: datetime,
    policy: LotPolicy | None = None,
) -> dict[str, Disposal]:
    """Lot selection for every sell leg of a rebalance: `sells` maps asset -> (raw qty, price).

    Groups the book once (or takes it already grouped by `lots_by_asset`), then selects per asset.
    """
    book = lots if isinstance(lots, Mapping) else lots_by_asset(lots)
    return {
        asset: select_lots(
            book.get(asset, ()), asset, qty, policy=policy, profile=profile, when=when, price=price
        )
        for asset, (qty, price) in sells.items()
    }


def apply_disposal(lots: Iterable[Lot], disposal: Disposal) -> list[Lot]:
    """The lots left after `disposal`: consumed lots removed, partly consumed ones shrunk."""
    taken: dict[str, int] = defaultdict(int)
    for match in disposal.matches:
        taken[match.lot.lot_id] += match.quantity_raw
    left: list[Lot] = []
    for lot in lots:
        qty = taken.pop(lot.lot_id, 0)
        if qty == 0:
            left.append(lot)
        elif qty < lot.quantity_raw:
            _, rest = lot.split(qty)
            assert rest is not None
            left.append(rest)
        elif qty > lot.quantity_raw:
            raise ValueError(f"lot {lot.lot_id}: disposal takes {qty} of {lot.quantity_raw} units")
    if taken:
        raise ValueError(f"disposal consumes lots that are not held: {sorted(taken)}")
    return left


def _ordered(
    lots: list[Lot], policy: LotPolicy, profile: TaxProfile, when: datetime, price: Decimal
) -> list[Lot]:
    if policy is LotPolicy.FIFO:
        return sorted(lots, key=lambda lot: (lot.acquired_at, lot.lot_id))
    if policy is LotPolicy.LIFO:
        return sorted(lots, key=lambda lot: (lot.acquired_at, lot.lot_id), reverse=True)
    with localcontext(RANKING_CONTEXT):
        if policy is LotPolicy.HIFO:
            return sorted(
                lots,
                key=lambda lot: (-(lot.cost_basis / lot.quantity_raw), lot.acquired_at, lot.lot_id),
            )
        if policy is LotPolicy.TAX_MIN:
            return sorted(lots, key=_tax_min_key(lots[0], profile, when, price))
    raise ValueError(f"no ordering for lot policy {policy}")


def _tax_min_key(sample: Lot, profile: TaxProfile, when: datetime, price: Decimal):
    """Sort key: estimated tax per unit sold from a lot (a loss is negative, so sold first), then
    long-held lots before short-held ones, then the higher basis.

    Per raw unit, with the long/short boundary and both rates computed once per sale: ranking
    10,000 lots must stay well under the 50 ms budget (bench/bench_tax.py).
    """
    rules = profile.rules(sample.kind)
    boundary = profile.long_boundary(sample.kind, when)
    within_rate = profile.rate(rules.within)
    after_rate = profile.rate(rules.after) if rules.after is not None else within_rate
    price_raw = price.scaleb(-sample.decimals)

    def key(lot: Lot) -> tuple:
        long_held = boundary is not None and lot.holding_since < boundary
        cost_raw = lot.cost_basis / lot.quantity_raw
        tax_per_unit = (price_raw - cost_raw) * (after_rate if long_held else within_rate)
        return (tax_per_unit, not long_held, -cost_raw, lot.acquired_at, lot.lot_id)

    return key


def _greedy(ordered: list[Lot], quantity_raw: int) -> list[tuple[Lot, int]]:
    takes: list[tuple[Lot, int]] = []
    left = quantity_raw
    for lot in ordered:
        if left == 0:
            break
        qty = min(left, lot.quantity_raw)
        takes.append((lot, qty))
        left -= qty
    return takes


def _pro_rata(
    lots: list[Lot], quantity_raw: int, profile: TaxProfile, when: datetime, *, same_day_first: bool
) -> list[tuple[Lot, int]]:
    """Average cost: every lot gives the same fraction. With `same_day_first` (UK), lots bought on
    the sale's date are matched first (TCGA92/S105(1)) and the pool supplies the rest."""
    takes: list[tuple[Lot, int]] = []
    left = quantity_raw
    pool = sorted(lots, key=lambda lot: (lot.acquired_at, lot.lot_id))
    if same_day_first:
        today = profile.local_date(when)
        same_day = [lot for lot in pool if profile.local_date(lot.acquired_at) == today]
        pool = [lot for lot in pool if profile.local_date(lot.acquired_at) != today]
        for lot in same_day:
            if left == 0:
                break
            qty = min(left, lot.quantity_raw)
            takes.append((lot, qty))
            left -= qty
    if left == 0:
        return takes
    total = sum(lot.quantity_raw for lot in pool)
    shares = [lot.quantity_raw * left // total for lot in pool]
    short = left - sum(shares)
    for i, lot in enumerate(
        pool
    ):  # hand out the rounding remainder one unit at a time, oldest first
        if short == 0:
            break
        if shares[i] < lot.quantity_raw:
            shares[i] += 1
            short -= 1
    takes.extend((lot, qty) for lot, qty in zip(pool, shares, strict=True) if qty > 0)
    return takes


def _disposal(
    asset: str,
    account: str | None,
    quantity_raw: int,
    proceeds: Decimal,
    when: datetime,
    policy: LotPolicy,
    takes: list[tuple[Lot, int]],
) -> Disposal:
    parts = allocate(proceeds, [qty for _, qty in takes])
    matches = tuple(
        LotMatch(lot=lot.split(qty)[0], proceeds=part)
        for (lot, qty), part in zip(takes, parts, strict=True)
    )
    return Disposal(
        asset=asset,
        account=account,
        quantity_raw=quantity_raw,
        proceeds=proceeds,
        sold_at=when,
        policy=policy,
        matches=matches,
    )
