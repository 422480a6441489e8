"""Loss-harvest pairs: the planner's trades for `keeper.tax.harvest_candidates`.

When harvesting is on (`tax.harvesting.enabled`), each venue's lots are scanned for losses worth
realising (seed 000: at least $500, tax saved above the trading cost). A candidate of HIGH
priority (or MEDIUM in the December review) becomes a *pair* of trades on the venue that holds
its lots: sell the losing lots, buy the configured substitute with the proceeds (seed 000: "check
similar ETFs", "keep sector exposure"), one swap on a DIRECT venue, a sale into the quote and a
buy funded by exactly that sale on a VIA_QUOTE venue. The asset's re-buy block then keeps it out
of later plans until the window ends, while the substitute holds its exposure
(`keeper.core.taxgoal`).

A pair is proposed only when it stands alone: the loser and the substitute do not trade in the
rebalance itself (an asset never both sells and buys), the substitute is an asset of
keeper.yaml in the same class and is not blocked by a re-buy rule itself, both are liquid and
priced on the venue, and every leg clears the venue's minimum. Each refusal is a note. A pair
moves exposure from one asset of a class to another: the class's drift is unchanged, the
assets' own drift is not (that is the point of it).

This module must not do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, localcontext

from keeper.core.drift import DriftReport
from keeper.core.plan import HarvestPair, Plan, Trade
from keeper.core.portfolio import Position, Snapshot
from keeper.core.spec import LIQUID_KINDS, Pairing, PortfolioSpec, VenueSpec
from keeper.core.strategies import cap_usd
from keeper.core.taxcontext import TaxContext, asset_prices, to_position_units
from keeper.money import BPS, MONEY_CONTEXT, ZERO, round_usd, to_decimal
from keeper.tax.harvest import HarvestCandidate, Priority, harvest_candidates
from keeper.tax.model import Lot
from keeper.tax.wash_sale import wash_sale_block


@dataclass
class HarvestResult:
    trades: list[Trade] = field(default_factory=list)
    pairs: list[HarvestPair] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    specific: dict[int, tuple[Lot, ...]] = field(default_factory=dict)  # sell step -> its lots


def harvest_pairs(
    plan: Plan, spec: PortfolioSpec, snapshot: Snapshot, report: DriftReport, tax: TaxContext
) -> HarvestResult:
    """The harvest trades to append to `plan` (steps follow its last one)."""
    out = HarvestResult()
    settings = tax.harvest
    if settings is None:
        return out
    when = tax.when(snapshot)
    busy = {t.sell_asset for t in plan.trades} | {t.buy_asset for t in plan.trades}
    usd_prices = asset_prices(snapshot)
    prices = {a: tax.to_ccy(p) for a, p in usd_prices.items()}
    ytd = tax.ytd(when)
    step = len(plan.trades)
    dev = {r.name: r.drift_usd or ZERO for r in report.assets}
    for t in plan.trades:
        dev[t.sell_asset] = dev.get(t.sell_asset, ZERO) - t.notional_usd
        dev[t.buy_asset] = dev.get(t.buy_asset, ZERO) + t.notional_usd
    for venue in spec.venues:
        accounts = tax.accounts.get(venue.name)
        if not accounts:
            continue
        lots = [lot for lot in tax.lots if lot.account in accounts]
        if not lots:
            continue
        signal = harvest_candidates(lots, prices, when, tax.profile, settings, ytd=ytd)
        wanted = {Priority.HIGH} | ({Priority.MEDIUM} if signal.december_review else set())
        harvested = {c.asset for c in signal.harvest if c.priority in wanted}
        for c in signal.harvest:
            if c.priority not in wanted:
                continue
            refusal = _refusal(c, venue, spec, snapshot, report, tax, busy, harvested, when)
            if refusal:
                out.notes.append(f"harvest {c.asset} on {venue.name}: not proposed: {refusal}")
                continue
            made = _pair_trades(c, venue, snapshot, tax, step, dev)
            if isinstance(made, str):
                out.notes.append(f"harvest {c.asset} on {venue.name}: not proposed: {made}")
                continue
            trades, cost = made
            if tax.to_usd(c.tax_saved) <= cost:
                out.notes.append(
                    f"harvest {c.asset} on {venue.name}: not proposed: saves "
                    f"${round_usd(tax.to_usd(c.tax_saved)):,} of tax for "
                    f"${round_usd(cost):,} of trading costs"
                )
                continue
            busy |= {c.asset, c.substitute}
            out.trades += trades
            out.specific[trades[0].step] = c.lots
            out.pairs.append(
                HarvestPair(
                    asset=c.asset,
                    substitute=c.substitute or "",
                    venue=venue.name,
                    loss=c.loss,
                    tax_saved=c.tax_saved,
                    trading_cost_usd=cost,
                    steps=tuple(t.step for t in trades),
                    rebuy_after=c.rebuy_after.isoformat() if c.rebuy_after else None,
                    reason=c.reason,
                )
            )
            step += len(trades)
    return out


def _refusal(
    c: HarvestCandidate,
    venue: VenueSpec,
    spec: PortfolioSpec,
    snapshot: Snapshot,
    report: DriftReport,
    tax: TaxContext,
    busy: set[str],
    harvested: set[str],
    when,
) -> str | None:
    sub = c.substitute
    if sub is None:
        return "no substitute configured (tax.substitutes) to keep its exposure"
    if not spec.has_asset(c.asset) or not spec.has_asset(sub):
        missing = c.asset if not spec.has_asset(c.asset) else sub
        return f"{missing} is not an asset of keeper.yaml"
    if spec.asset(sub).asset_class != spec.asset(c.asset).asset_class:
        return f"substitute {sub} is in another class (a harvest keeps the class's exposure)"
    if c.asset in busy or sub in busy:
        return f"{c.asset if c.asset in busy else sub} already trades in this plan"
    if sub in harvested:
        return f"substitute {sub} is being harvested too"
    decision = wash_sale_block(
        sub, tax.kind_of(sub), when, tax.history, tax.profile, identical=tax.identical
    )
    if not decision.allowed:
        return f"substitute {decision.reason}"
    if tax.group(sub) == tax.group(c.asset):
        return f"substitute {sub} is substantially identical to {c.asset}"
    cap = cap_usd(report, spec)
    sub_value = report.asset(sub).value_usd
    if cap is not None and sub_value is not None and sub_value + tax.to_usd(c.market_value) > cap:
        return f"buying {sub} would take it past the max single asset"
    if _holding(snapshot, c.asset, venue.name) is None:
        return f"no liquid priced {c.asset} holding on {venue.name}"
    if _holding(snapshot, sub, venue.name, empty_ok=True) is None:
        return f"no liquid priced {sub} holding on {venue.name} to buy into"
    if (
        venue.pairing is Pairing.VIA_QUOTE
        and _holding(snapshot, venue.quote, venue.name, empty_ok=True) is None
    ):
        return f"{venue.name}'s quote {venue.quote} has no liquid priced holding"
    return None


def _pair_trades(
    c: HarvestCandidate,
    venue: VenueSpec,
    snapshot: Snapshot,
    tax: TaxContext,
    step: int,
    dev: dict[str, Decimal],
) -> tuple[list[Trade], Decimal] | str:
    """The pair's trades and their trading cost (USD), or why it cannot be made."""
    sp = _holding(snapshot, c.asset, venue.name)
    bp = _holding(snapshot, c.substitute, venue.name, empty_ok=True)
    assert sp is not None and bp is not None
    sell_raw = min(to_position_units(c.quantity_raw, c.lots[0].decimals, sp.decimals), sp.raw)
    if sell_raw <= 0:
        return f"{c.asset} on {venue.name} holds none of the lots' units"
    with localcontext(MONEY_CONTEXT):
        notional = to_decimal(sell_raw, sp.decimals) * sp.price_usd
        if notional < venue.min_trade_usd:
            return f"${round_usd(notional):,} is below the {venue.name} minimum trade"
        if venue.pairing is Pairing.DIRECT:
            leg = _swap(venue, step, sp, bp, sell_raw, notional, dev)
            if leg.buy_raw <= 0:
                return "the buy rounds to zero units"
            return [leg], leg.fee_usd + leg.slippage_usd
        q = _holding(snapshot, venue.quote, venue.name, empty_ok=True)
        assert q is not None
        sell = _swap(venue, step, sp, q, sell_raw, notional, dev)
        units = _buy_raw(venue, q, bp, sell.buy_raw)
        if units <= 0:
            return "the buy rounds to zero units"
        spend = _spend_for(venue, q, bp, units, sell.buy_raw)  # whole units: keep the rest
        q_notional = to_decimal(spend, q.decimals) * q.price_usd
        if q_notional < venue.min_trade_usd:
            return f"the buy of {c.substitute} is below the {venue.name} minimum trade"
        buy = _swap(venue, step + 1, q, bp, spend, q_notional, dev, funded_by=(step,))
        cost = sell.fee_usd + sell.slippage_usd + buy.fee_usd + buy.slippage_usd
        return [sell, buy], cost


def _swap(
    venue: VenueSpec,
    step: int,
    sp: Position,
    bp: Position,
    sell_raw: int,
    notional: Decimal,
    dev: dict[str, Decimal],
    funded_by: tuple[int, ...] = (),
) -> Trade:
    fee = notional * venue.fee_bps / BPS
    slip = notional * venue.slippage_bps / BPS
    net = notional - fee - slip
    buy_raw = int((net / bp.price_usd).scaleb(bp.decimals).to_integral_value(rounding=ROUND_DOWN))
    received = to_decimal(buy_raw, bp.decimals) * bp.price_usd
    a, b = sp.asset, bp.asset
    before = abs(dev.get(a, ZERO)) + abs(dev.get(b, ZERO))
    dev[a] = dev.get(a, ZERO) - notional
    dev[b] = dev.get(b, ZERO) + received
    return Trade(
        step=step,
        venue=venue.name,
        sell_asset=a,
        sell_holding=sp.holding,
        sell_raw=sell_raw,
        sell_decimals=sp.decimals,
        buy_asset=b,
        buy_holding=bp.holding,
        buy_raw=buy_raw,
        buy_decimals=bp.decimals,
        notional_usd=notional,
        fee_usd=fee,
        slippage_usd=slip,
        drift_removed_usd=before - abs(dev[a]) - abs(dev[b]),
        funded_by=funded_by,
    )


def _buy_raw(venue: VenueSpec, sp: Position, bp: Position, sell_raw: int) -> int:
    notional = to_decimal(sell_raw, sp.decimals) * sp.price_usd
    net = notional * (BPS - venue.cost_bps) / BPS
    return int((net / bp.price_usd).scaleb(bp.decimals).to_integral_value(rounding=ROUND_DOWN))


def _spend_for(venue: VenueSpec, q: Position, bp: Position, units: int, most: int) -> int:
    """The least raw quote (at most `most`) that still buys `units` of `bp` after costs."""
    lo, hi = 1, most
    while lo < hi:  # the buy is monotone in the spend: bisect for the smallest that suffices
        mid = (lo + hi) // 2
        if _buy_raw(venue, q, bp, mid) >= units:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _holding(
    snapshot: Snapshot, asset: str | None, venue: str, *, empty_ok: bool = False
) -> Position | None:
    """The largest liquid priced holding of `asset` on `venue` (by id on ties)."""
    found = [
        p
        for p in snapshot.positions
        if p.asset == asset
        and p.venue == venue
        and p.kind in LIQUID_KINDS
        and p.priced
        and (empty_ok or p.raw > 0)
    ]
    if not found:
        return None
    return max(found, key=lambda p: (p.raw * p.price_usd.scaleb(-p.decimals), p.holding))
