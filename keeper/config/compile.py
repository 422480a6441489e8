"""Validated `KeeperConfig` -> the core's `PortfolioSpec` (plain frozen values, no pydantic).

Defaults are resolved here, once: a venue's pairing, fee, slippage and minimum trade from its
kind; an asset's band from itself, its class's `asset_band`, then `defaults.band`; USD targets
become weights. Call only on a config that `keeper.config.semantics.check` passed.

This module must not do I/O.
"""

from __future__ import annotations

from decimal import Decimal

from keeper.config.models import BandConfig, KeeperConfig, PriceConfig
from keeper.config.schedule import parse_schedule
from keeper.config.semantics import holding_id, target_weights
from keeper.core.spec import (
    AssetSpec,
    Band,
    BandMode,
    ClassSpec,
    HoldingKind,
    HoldingSpec,
    Limits,
    Pairing,
    PortfolioSpec,
    PriceSpec,
    ReturnTo,
    StrategyKind,
    StrategySpec,
    VenueKind,
    VenueSpec,
)

ZERO = Decimal(0)
_CHAIN_KINDS = {
    "token": HoldingKind.ERC20,
    "vault": HoldingKind.ERC4626,
    "atoken": HoldingKind.ATOKEN,
    "native": HoldingKind.NATIVE,
}


def band(cfg: BandConfig) -> Band:
    return Band(soft=cfg.soft, hard=cfg.hard, mode=BandMode(cfg.mode))


def to_spec(cfg: KeeperConfig) -> PortfolioSpec:
    venues = tuple(_venue(name, cfg) for name in cfg.venues)
    weights = target_weights(cfg)
    chain_venues = sorted(n for n, v in cfg.venues.items() if v.kind == "chain")
    assets, classes, holdings = [], [], []
    for cname, c in cfg.classes.items():
        for aname, a in c.assets.items():
            assets.append(
                AssetSpec(
                    name=aname,
                    asset_class=cname,
                    target=weights[aname],
                    band=band(a.band or c.asset_band or cfg.defaults.band),
                    cash=c.cash,
                    price=_price(a.price, chain_venues),
                )
            )
            for h in a.holdings:
                vkind = cfg.venues[h.venue].kind
                if h.ref_kind == "symbol":
                    kind = (
                        HoldingKind.CEX_BALANCE if vkind == "cex" else HoldingKind.BROKER_POSITION
                    )
                else:
                    kind = _CHAIN_KINDS[h.ref_kind]
                holdings.append(
                    HoldingSpec(
                        id=holding_id(h.venue, h.ref_kind, h.ref, h.id),
                        asset=aname,
                        venue=h.venue,
                        kind=kind,
                        ref=h.ref,
                        decimals=h.decimals,
                    )
                )
        classes.append(
            ClassSpec(
                name=cname,
                label=c.label or cname,
                target=sum((weights[a] for a in c.assets), ZERO),
                band=band(c.band or cfg.defaults.class_band),
                frequency=c.fastest,
                cash=c.cash,
                assets=tuple(sorted(c.assets)),
            )
        )
    reserve = cfg.limits.cash_reserve
    schedule = parse_schedule(cfg.schedule) if cfg.schedule is not None else None
    return PortfolioSpec(
        assets=tuple(assets),
        classes=tuple(classes),
        venues=venues,
        holdings=tuple(holdings),
        strategy=StrategySpec(
            kind=StrategyKind(cfg.strategy.kind),
            return_to=ReturnTo(cfg.strategy.return_to),
            edge_margin=cfg.strategy.edge_margin,
            urgent_override=cfg.strategy.urgent_override,
        ),
        limits=Limits(
            cash_reserve_fraction=reserve.percent or ZERO,
            cash_reserve_usd=reserve.usd or ZERO,
            max_single_asset=cfg.limits.max_single_asset,
        ),
        schedule_cadence=schedule.cadence if schedule else None,
        default_price_max_age_s=cfg.prices.max_age,
        targets_in_usd=any(
            a.target.usd is not None for c in cfg.classes.values() for a in c.assets.values()
        ),
    )


def _venue(name: str, cfg: KeeperConfig) -> VenueSpec:
    v = cfg.venues[name]
    kind = VenueKind(v.kind)
    pairing = (
        Pairing(v.pairing)
        if v.pairing
        else (Pairing.DIRECT if kind is VenueKind.CHAIN else Pairing.VIA_QUOTE)
    )
    d = cfg.defaults
    return VenueSpec(
        name=name,
        kind=kind,
        pairing=pairing,
        quote=v.quote,
        fee_bps=v.fee_bps if v.fee_bps is not None else getattr(d.fee_bps, v.kind),
        slippage_bps=v.slippage_bps
        if v.slippage_bps is not None
        else getattr(d.slippage_bps, v.kind),
        min_trade_usd=v.min_trade if v.min_trade is not None else getattr(d.min_trade, v.kind),
        chain_id=v.chain_id,
    )


def _price(p: PriceConfig | None, chain_venues: list[str]) -> PriceSpec:
    if p is None:
        return PriceSpec()
    feed_venue = p.feed_venue or (chain_venues[0] if p.feed and chain_venues else None)
    return PriceSpec(feed=p.feed, feed_venue=feed_venue, fixed=p.fixed, max_age_s=p.max_age)
