"""The `tax:` section of keeper.yaml and its lots file -> the planner's `TaxContext`.

This is the I/O edge of tax-aware planning: it reads the lots CSV (docs/tax-lots-csv.md) named by
`tax.lots`, replays it up to the decision time with `keeper.tax.replay` (open lots, and the
realised sales the wash-sale look-back and the year so far need), and resolves the settings the
pure core takes as plain values: which lot accounts each venue sells from, each asset's legal
kind, the lot method, substitutes, harvesting. Nothing is decided here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from keeper.config import LoadedConfig
from keeper.config.compile import tax_profile
from keeper.config.models import TaxConfig
from keeper.core.spec import VenueKind
from keeper.core.taxcontext import TaxContext
from keeper.errors import ConfigError
from keeper.tax.csv_import import parse_lots_csv
from keeper.tax.harvest import HarvestSettings
from keeper.tax.ledger import LedgerResult, replay
from keeper.tax.model import AssetKind, LotPolicy


def load_tax_context(cfg: LoadedConfig, now: int) -> TaxContext | None:
    """The tax context for a decision at `now` (unix seconds), or None when keeper.yaml has no
    tax section or says the treasury is not taxable."""
    tax = cfg.model.tax
    if tax is None or not tax.taxable:
        return None
    profile = tax_profile(tax)
    when = datetime.fromtimestamp(now, tz=UTC)
    ledger = _replay(cfg, tax, profile, when) if tax.lots else None
    lots = ledger.lots if ledger else ()
    accounts_seen = sorted({lot.account for lot in lots})
    accounts: dict[str, tuple[str, ...]] = {}
    for venue in cfg.spec.venues:
        given = tax.accounts.get(venue.name)
        if given is not None:
            accounts[venue.name] = (given,) if isinstance(given, str) else tuple(given)
            continue
        named = tuple(a for a in accounts_seen if a == venue.name or a.startswith(venue.name + ":"))
        if named:
            accounts[venue.name] = named
    kinds: dict[str, AssetKind] = {}
    lot_kind = {lot.asset: lot.kind for lot in lots}
    venue_kind = {v.name: v.kind for v in cfg.spec.venues}
    for asset in cfg.spec.assets:
        if asset.name in tax.kinds:
            kinds[asset.name] = AssetKind(tax.kinds[asset.name])
        elif asset.name in lot_kind:
            kinds[asset.name] = lot_kind[asset.name]
        else:
            on_broker = any(
                venue_kind[h.venue] is VenueKind.BROKER
                for h in cfg.spec.holdings
                if h.asset == asset.name
            )
            kinds[asset.name] = AssetKind.SECURITY if on_broker else AssetKind.CRYPTO
    return TaxContext(
        profile=profile,
        lots=lots,
        history=ledger.realised if ledger else (),
        policy=LotPolicy(tax.lot_policy) if tax.lot_policy else None,
        tax_min_default=tax.long_term_preference,
        fx_usd=tax.fx_usd if tax.fx_usd is not None else Decimal(1),
        accounts=accounts,
        kinds=kinds,
        substitutes=dict(tax.substitutes),
        identical=dict(tax.identical) or None,
        harvest=harvest_settings(tax) if tax.harvesting.enabled else None,
    )


def harvest_settings(tax: TaxConfig) -> HarvestSettings:
    """The harvesting signal's settings from the config (used by plans and by `keeper status`)."""
    return HarvestSettings(
        min_loss=tax.harvesting.min_loss,
        deep_loss_bps=int(tax.harvesting.deep_loss * 10_000),
        substitutes=dict(tax.substitutes),
        identical=dict(tax.identical) or None,
        december_review=tax.harvesting.december_review,
    )


def _replay(cfg: LoadedConfig, tax: TaxConfig, profile, when: datetime) -> LedgerResult:
    assert tax.lots is not None
    path: Path = cfg.resolve(tax.lots)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"tax.lots: {path} not found: write the lot history there (docs/tax-lots-csv.md) "
            "or fix the path (relative to keeper.yaml)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"tax.lots: cannot read {path} ({e.__class__.__name__}): check the file and its "
            "encoding (UTF-8)"
        ) from e
    events = parse_lots_csv(text, source=path.name, timezone=profile.timezone)
    policy = LotPolicy(tax.lot_policy) if tax.lot_policy else None
    return replay(events, profile, policy=policy, identical=dict(tax.identical) or None, until=when)
