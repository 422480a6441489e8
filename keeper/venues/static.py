"""A `VenueReader` over a YAML or JSON file: balances and prices written down by hand.

Used by the tests, by the CLI's `--static FILE`, and for off-chain holdings until the CEX and
broker adapters land. The file:

    as_of: 2024-06-03T09:00:00Z   # optional: when the prices were true (ISO or unix seconds);
                                  # without it prices count as read now (source says so)
    blocks: {devnet: 123}         # optional: block per chain venue
    prices:                       # USD per whole unit, by asset (strings: never floats)
      BTC: "67000"
      USDC: "1"
    decimals: {SOL: 9}            # optional: default decimals per asset (else 18)
    positions:                    # holding id -> amount in whole tokens, or a mapping
      binance:BTC: "2.1"
      devnet:USDC: {raw: 1500000000, decimals: 6}
      devnet:vault_usdc_a: {amount: "250000", decimals: 6, price: "1.0001"}

A declared holding missing from the file is a failed position (never a silent zero). A fixed
price in keeper.yaml (`price: {fixed: 1}`) is used when the file has none for the asset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from keeper.core.portfolio import Position
from keeper.core.spec import HoldingSpec, PortfolioSpec
from keeper.errors import ConfigError
from keeper.money import to_raw
from keeper.venues.base import VenueReading


@dataclass(frozen=True)
class StaticFile:
    """The parsed file (see the module docstring)."""

    path: str
    as_of: int | None
    blocks: dict[str, int]
    prices: dict[str, Decimal]
    decimals: dict[str, int]
    positions: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> StaticFile:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"{p}: static holdings file not found: create it or pass --static FILE"
            ) from None
        try:
            data = json.loads(text) if p.suffix == ".json" else YAML(typ="safe").load(text)
        except (YAMLError, json.JSONDecodeError) as e:
            raise ConfigError(f"{p}: not valid YAML/JSON: {str(e).splitlines()[0]}") from None
        return cls.parse(data or {}, str(p))

    @classmethod
    def parse(cls, data: Any, source: str) -> StaticFile:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping with prices: and positions:")
        extra = set(data) - {"as_of", "blocks", "prices", "decimals", "positions"}
        if extra:
            raise ConfigError(

                    f"{source}: unknown key(s) {sorted(extra)}: use as_of, blocks, prices, "
                    f"decimals, positions"

            )
        return cls(
            path=source,
            as_of=_time(data.get("as_of"), source),
            blocks={str(k): int(v) for k, v in (data.get("blocks") or {}).items()},
            prices={
                str(k): _dec(v, f"{source}: prices.{k}")
                for k, v in (data.get("prices") or {}).items()
            },
            decimals={str(k): int(v) for k, v in (data.get("decimals") or {}).items()},
            positions={str(k): v for k, v in (data.get("positions") or {}).items()},
        )


class StaticReader:
    """Reads one venue's holdings from a `StaticFile`."""

    def __init__(self, venue: str, source: StaticFile) -> None:
        self.venue = venue
        self.source = source

    @classmethod
    def from_path(cls, venue: str, path: str | Path) -> StaticReader:
        return cls(venue, StaticFile.load(path))

    def read(self, spec: PortfolioSpec, now: int) -> VenueReading:
        out = []
        for h in spec.holdings:
            if h.venue == self.venue:
                out.append(self._position(h, spec, now))
        return VenueReading(
            self.venue, tuple(out), block=self.source.blocks.get(self.venue), round_trips=0
        )

    def _position(self, h: HoldingSpec, spec: PortfolioSpec, now: int) -> Position:
        src = self.source
        entry = src.positions.get(h.id)
        default_dec = h.decimals if h.decimals is not None else src.decimals.get(h.asset, 18)
        if entry is None:
            return Position.failed(
                holding=h.id,
                asset=h.asset,
                venue=h.venue,
                kind=h.kind,
                decimals=default_dec,
                reason=f"not in {src.path}",
            )
        where = f"{src.path}: positions.{h.id}"
        price = src.prices.get(h.asset)
        if isinstance(entry, dict):
            extra = set(entry) - {"raw", "amount", "decimals", "price"}
            if extra:
                raise ConfigError(
                    f"{where}: unknown key(s) {sorted(extra)}: use raw or amount, decimals, price"
                )
            decimals = int(entry.get("decimals", default_dec))
            if "raw" in entry:
                raw = entry["raw"]
                if not isinstance(raw, int) or raw < 0:
                    raise ConfigError(f"{where}: raw must be a non-negative whole number")
            elif "amount" in entry:
                raw = to_raw(_dec(entry["amount"], where), decimals)
            else:
                raise ConfigError(f"{where}: give raw or amount")
            if "price" in entry:
                price = _dec(entry["price"], f"{where}.price")
        else:
            decimals = default_dec
            raw = to_raw(_dec(entry, where), decimals)
        if raw < 0:
            raise ConfigError(f"{where}: amounts cannot be negative")
        fixed = spec.asset(h.asset).price.fixed if spec.has_asset(h.asset) else None
        if price is None and fixed is not None:
            price = fixed
        source = f"static:{Path(src.path).name}" + (
            "" if src.as_of is not None else " (no as_of: priced at read time)"
        )
        max_age = spec.asset(h.asset).price.max_age_s if spec.has_asset(h.asset) else None
        return Position.read(
            holding=h.id,
            asset=h.asset,
            venue=h.venue,
            kind=h.kind,
            raw=raw,
            decimals=decimals,
            price_usd=price,
            price_source=source,
            price_time=src.as_of if src.as_of is not None else now,
            now=now,
            max_age_s=max_age or spec.default_price_max_age_s,
        )


def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, float):
        value = repr(value)
    try:
        d = Decimal(str(value).replace(",", "").replace("$", ""))
    except InvalidOperation:
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if not d.is_finite():
        raise ConfigError(f"{where}: expected a finite number")
    return d


def _time(value: Any, source: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return (
            int(value.timestamp()) if value.tzinfo else int(value.replace(tzinfo=None).timestamp())
        )
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{source}: as_of must be ISO 8601 (2024-06-03T09:00:00Z) or unix seconds"
        ) from None
    if dt.tzinfo is None:
        raise ConfigError(f"{source}: as_of needs a time zone (end it with Z for UTC)")
    return int(dt.timestamp())
