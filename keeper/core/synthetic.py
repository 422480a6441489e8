"""Synthetic portfolios: a spec and a snapshot from a compact description.

Used by the tests, the property tests and the planner benchmark, so they all build portfolios
the same way, through the real types. `portfolio(...)` takes plain rows; `scaled(...)` makes a
large random one (200 positions over 5 venues for the benchmark) from a seed.

This module must not do I/O.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from keeper.core.portfolio import Position, Snapshot
from keeper.core.spec import (
    AssetSpec,
    Band,
    BandMode,
    Cadence,
    ClassSpec,
    HoldingKind,
    HoldingSpec,
    Limits,
    Pairing,
    PortfolioSpec,
    StrategySpec,
    VenueKind,
    VenueSpec,
)
from keeper.money import to_raw

NOW = 1_717_405_200  # 2024-06-03 09:00 UTC, a Monday
_DEFAULT_KIND = {
    VenueKind.CHAIN: HoldingKind.ERC20,
    VenueKind.CEX: HoldingKind.CEX_BALANCE,
    VenueKind.BROKER: HoldingKind.BROKER_POSITION,
}


@dataclass(frozen=True)
class A:
    """An asset row: name, class, target fraction, optional band, cash flag."""

    name: str
    cls: str
    target: Decimal | str
    band: Band | None = None
    cash: bool = False


@dataclass(frozen=True)
class H:
    """A holding row: `usd` of `asset` on `venue` at `price` (USD per whole token)."""

    asset: str
    venue: str
    usd: Decimal | str
    price: Decimal | str = "1"
    decimals: int = 18
    kind: HoldingKind | None = None
    priced: bool = True
    ident: str | None = None


def venue(
    name: str,
    kind: VenueKind = VenueKind.CHAIN,
    *,
    quote: str | None = None,
    fee_bps: int = 0,
    slippage_bps: int = 0,
    min_trade: Decimal | str = "0",
    pairing: Pairing | None = None,
) -> VenueSpec:
    if pairing is None:
        pairing = Pairing.DIRECT if kind is VenueKind.CHAIN else Pairing.VIA_QUOTE
    return VenueSpec(
        name=name,
        kind=kind,
        pairing=pairing,
        quote=quote,
        fee_bps=fee_bps,
        slippage_bps=slippage_bps,
        min_trade_usd=Decimal(min_trade),
    )


def portfolio(
    assets: Sequence[A],
    venues: Sequence[VenueSpec],
    holdings: Sequence[H],
    *,
    band: Band = Band(Decimal("0.10"), Decimal("0.20")),
    class_band: Band | None = None,
    frequencies: dict[str, Cadence] | None = None,
    strategy: StrategySpec | None = None,
    limits: Limits | None = None,
    now: int = NOW,
) -> tuple[PortfolioSpec, Snapshot]:
    """Build a spec and a snapshot. Class targets are the sums of their assets' targets."""
    vmap = {v.name: v for v in venues}
    classes: dict[str, list[A]] = {}
    for a in assets:
        classes.setdefault(a.cls, []).append(a)
    class_specs = tuple(
        ClassSpec(
            name=c,
            label=c,
            target=sum((Decimal(a.target) for a in rows), Decimal(0)),
            band=class_band or Band(Decimal("10"), Decimal("10"), BandMode.RELATIVE),
            frequency=(frequencies or {}).get(c, Cadence.DAILY),
            cash=all(a.cash for a in rows),
            assets=tuple(sorted(a.name for a in rows)),
        )
        for c, rows in classes.items()
    )
    asset_specs = tuple(
        AssetSpec(
            name=a.name,
            asset_class=a.cls,
            target=Decimal(a.target),
            band=a.band or band,
            cash=a.cash,
        )
        for a in assets
    )
    hspecs, positions = [], []
    for h in holdings:
        kind = h.kind or _DEFAULT_KIND[vmap[h.venue].kind]
        ident = h.ident or f"{h.venue}:{h.asset}" + (
            "" if kind in _DEFAULT_KIND.values() else f":{kind.value}"
        )
        hspecs.append(HoldingSpec(id=ident, asset=h.asset, venue=h.venue, kind=kind, ref=h.asset))
        price = Decimal(h.price)
        raw = to_raw(Decimal(h.usd) / price, h.decimals)
        positions.append(
            Position.read(
                holding=ident,
                asset=h.asset,
                venue=h.venue,
                kind=kind,
                raw=raw,
                decimals=h.decimals,
                price_usd=price if h.priced else None,
                price_source="synthetic",
                price_time=now,
                now=now,
                max_age_s=3600,
            )
        )
    spec = PortfolioSpec(
        assets=asset_specs,
        classes=class_specs,
        venues=tuple(venues),
        holdings=tuple(hspecs),
        strategy=strategy or StrategySpec(),
        limits=limits or Limits(),
    )
    return spec, Snapshot(positions=tuple(positions), taken_at=now)


def scaled(
    n_positions: int = 200, n_venues: int = 5, *, seed: int = 7, drift: float = 0.3
) -> tuple[PortfolioSpec, Snapshot]:
    """A random treasury: `n_positions` holdings spread over `n_venues` venues (one chain with
    direct swaps, the rest via a quote asset), equal targets, values drifted by up to +-`drift`
    (a statistic, so a float is fine here; the values themselves are built as Decimal)."""
    rng = random.Random(seed)
    kinds = (
        [VenueKind.CHAIN] + [VenueKind.CEX] * ((n_venues - 1) // 2) + [VenueKind.BROKER] * n_venues
    )
    venues = []
    for i in range(n_venues):
        kind = kinds[i]
        quote = None if kind is VenueKind.CHAIN else f"Q{i}"
        venues.append(
            venue(f"v{i}", kind, quote=quote, fee_bps=10, slippage_bps=5, min_trade="100")
        )
    n_quotes = sum(1 for v in venues if v.quote)
    n_assets = max(1, (n_positions - n_quotes) * 2 // 3)
    target = Decimal(1) / (n_assets + n_quotes)
    assets = [A(f"T{i:03d}", f"c{i % 6}", target) for i in range(n_assets)]
    assets += [A(v.quote, "cash", target, cash=True) for v in venues if v.quote]
    # the last asset takes the rounding so targets sum to exactly 1
    rest = Decimal(1) - target * (len(assets) - 1)
    assets[-1] = A(assets[-1].name, assets[-1].cls, rest, cash=assets[-1].cash)
    holdings: list[H] = []
    for v in venues:
        if v.quote:
            holdings.append(H(v.quote, v.name, Decimal(10_000), "1", 6))
    pairs: set[tuple[str, str]] = set()
    i = 0
    while len(holdings) < n_positions:
        a = assets[i % n_assets]
        v = venues[rng.randrange(n_venues)] if i >= n_assets else venues[i % n_venues]
        i += 1
        if (a.name, v.name) in pairs:
            continue
        pairs.add((a.name, v.name))
        usd = Decimal(10_000) * Decimal(str(round(1 + rng.uniform(-drift, drift), 4)))
        price = Decimal(str(round(rng.uniform(0.5, 5_000), 2)))
        holdings.append(H(a.name, v.name, usd, price, rng.choice([6, 8, 18])))
    return portfolio(assets, venues, holdings)
