"""The treasury's declared intent as plain frozen values: the input of every pure decision.

`keeper.config` validates `keeper.yaml` with pydantic and compiles it into a `PortfolioSpec`;
the core never sees pydantic. Fractions are `Decimal` in 0..1 (0.25 is 25%, 0.05 of the portfolio
is 5 percentage points); USD figures are `Decimal`; fees are integer basis points.

Vocabulary:

- an *asset* is an economic exposure (BTC, USDC, SPY) with a target weight inside a *class*;
- a *holding* is one place some of an asset sits (a wallet ERC-20, ERC-4626 vault shares, an
  Aave aToken, a CEX balance, a broker position), on one *venue*;
- a *venue* is where trades happen: one chain, one CEX account, one broker account.

This module must not do I/O or import anything outside the standard library and `keeper.money`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, IntEnum

ONE = Decimal(1)
ZERO = Decimal(0)


class VenueKind(str, Enum):
    """Where a venue lives; sets its defaults (pairing, minimum trade size)."""

    CHAIN = "chain"
    CEX = "cex"
    BROKER = "broker"


class Pairing(str, Enum):
    """How a venue trades one asset for another.

    DIRECT: any held asset swaps into any other in one leg (a DEX router or aggregator).
    VIA_QUOTE: every trade is an asset against the venue's quote asset (USDT on a CEX, USD at a
    broker); moving value from A to B is a sell of A for the quote, then a buy of B with it.
    """

    DIRECT = "direct"
    VIA_QUOTE = "via_quote"


class HoldingKind(str, Enum):
    """What a holding is. Only *liquid* kinds are traded by the planner; the others count toward
    drift but are moved by migrations (a later issue), never sold directly."""

    ERC20 = "erc20"  # a wallet/contract ERC-20 balance
    NATIVE = "native"  # the chain's gas coin; counted, kept for gas, not traded
    ERC4626 = "erc4626"  # vault shares, valued in underlying units via convertToAssets
    ATOKEN = "aave_v3"  # an Aave V3 aToken balance (1:1 with the underlying, accruing)
    CEX_BALANCE = "cex_balance"
    BROKER_POSITION = "broker_position"


LIQUID_KINDS = frozenset({HoldingKind.ERC20, HoldingKind.CEX_BALANCE, HoldingKind.BROKER_POSITION})


class BandMode(str, Enum):
    """RELATIVE: widths are fractions of the target value (BTC $20,000 +-10% -> +-$2,000).
    ABSOLUTE: widths are fractions of the whole portfolio (60% +-5 percentage points)."""

    RELATIVE = "relative"
    ABSOLUTE = "absolute"


class Cadence(IntEnum):
    """How often something runs, as its nominal period in days (so it orders from fast to slow)."""

    DAILY = 1
    WEEKLY = 7
    MONTHLY = 30
    QUARTERLY = 91

    @property
    def label(self) -> str:
        return self.name.lower()


class StrategyKind(str, Enum):
    """The rebalancing strategies of seeds 001 and 002 (see `keeper.core.strategies`)."""

    THRESHOLD = "threshold"
    BAND = "band"
    CALENDAR = "calendar"
    CASH_FLOW = "cash_flow"
    HYBRID = "hybrid"


class ReturnTo(str, Enum):
    """Where the band strategy takes an asset that left its band."""

    TARGET = "target"
    EDGE = "edge"


@dataclass(frozen=True, slots=True)
class Band:
    """A soft and a hard limit around a target (see `BandMode`). `hard >= soft >= 0`."""

    soft: Decimal
    hard: Decimal
    mode: BandMode = BandMode.RELATIVE

    def __post_init__(self) -> None:
        if not (ZERO <= self.soft <= self.hard):
            raise ValueError(f"band needs 0 <= soft <= hard, got soft={self.soft} hard={self.hard}")

    def widths_usd(self, target_usd: Decimal, total_usd: Decimal) -> tuple[Decimal, Decimal]:
        """(soft, hard) half-widths in USD for a target worth `target_usd` in a portfolio of
        `total_usd`."""
        base = target_usd if self.mode is BandMode.RELATIVE else total_usd
        return self.soft * base, self.hard * base

    def describe(self) -> str:
        unit = "%" if self.mode is BandMode.RELATIVE else "pp"
        return f"±{_pct(self.soft)}{unit}/±{_pct(self.hard)}{unit}"


def _pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}"


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """Where an asset's USD price comes from, for the readers. The core only reads `max_age_s`.

    `feed` names a Chainlink-style feed (address-book key or 0x address) on chain venue
    `feed_venue`; `fixed` is a constant price (use it only for the unit of account itself, e.g.
    broker USD cash); with neither, the venue reader prices the holding (CEX ticker, broker quote).
    """

    feed: str | None = None
    feed_venue: str | None = None
    fixed: Decimal | None = None
    max_age_s: int | None = None


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """One place where trades happen, with its costs and minimum trade size."""

    name: str
    kind: VenueKind
    pairing: Pairing
    quote: str | None  # the asset trades settle in on VIA_QUOTE venues (USDT, USD)
    fee_bps: int  # expected fee per leg, basis points of notional
    slippage_bps: int  # expected slippage per leg, basis points of notional
    min_trade_usd: (
        Decimal  # legs below this notional are dropped (seed 000: $1,000 ETF, $500 crypto)
    )
    chain_id: int | None = None

    @property
    def cost_bps(self) -> int:
        return self.fee_bps + self.slippage_bps


@dataclass(frozen=True, slots=True)
class HoldingSpec:
    """One declared place an asset sits. `ref` is what the reader looks up: an address-book key
    or a 0x address on chains, a currency or ticker symbol on CEXs and brokers."""

    id: str
    asset: str
    venue: str
    kind: HoldingKind
    ref: str
    decimals: int | None = None  # when known without a read (CEX/broker); chains read it

    @property
    def liquid(self) -> bool:
        return self.kind in LIQUID_KINDS


@dataclass(frozen=True, slots=True)
class AssetSpec:
    """An economic exposure with its target weight (fraction of the portfolio) and band."""

    name: str
    asset_class: str
    target: Decimal
    band: Band
    cash: bool = False
    price: PriceSpec = field(default_factory=PriceSpec)


@dataclass(frozen=True, slots=True)
class ClassSpec:
    """A group of assets (seed 000's tiers: Core ETFs, BTC/ETH, DeFi, Cash ...).

    `target` is the sum of its assets' targets. `frequency` is the fastest cadence at which the
    class may trade (a row of seed 000's frequency matrix: ETF Core trades weekly or slower).
    """

    name: str
    label: str
    target: Decimal
    band: Band
    frequency: Cadence = Cadence.DAILY
    cash: bool = False
    assets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """How the keeper chooses what to move. See `keeper.core.strategies` for each kind."""

    kind: StrategyKind = StrategyKind.THRESHOLD
    return_to: ReturnTo = ReturnTo.TARGET  # band strategy only
    edge_margin: Decimal = Decimal("0.1")  # band->edge: land this fraction of the soft width inside
    urgent_override: bool = (
        True  # hard-limit breaches act off-schedule and past the frequency matrix
    )


@dataclass(frozen=True, slots=True)
class Limits:
    """Portfolio-wide limits every strategy respects.

    The cash reserve is the larger of `cash_reserve_fraction` of the portfolio and
    `cash_reserve_usd`; a plan never takes cash (assets of cash classes) below it, nor lower than it
    already is. `max_single_asset` caps the weight of any non-cash asset; a plan never buys an asset
    above it and sells assets that are above it.
    """

    cash_reserve_fraction: Decimal = ZERO
    cash_reserve_usd: Decimal = ZERO
    max_single_asset: Decimal | None = None

    def cash_reserve(self, total_usd: Decimal) -> Decimal:
        return max(self.cash_reserve_fraction * total_usd, self.cash_reserve_usd)


@dataclass(frozen=True, slots=True)
class PortfolioSpec:
    """Everything the pure core needs to know about the treasury's intent.

    Collections are tuples sorted by name, so two specs that differ only in the order things were
    listed in `keeper.yaml` are equal and give the same decisions.
    """

    assets: tuple[AssetSpec, ...]
    classes: tuple[ClassSpec, ...]
    venues: tuple[VenueSpec, ...]
    holdings: tuple[HoldingSpec, ...]
    strategy: StrategySpec = field(default_factory=StrategySpec)
    limits: Limits = field(default_factory=Limits)
    schedule_cadence: Cadence | None = None
    default_price_max_age_s: int = 3_600
    targets_in_usd: bool = False  # targets were written as USD amounts (display only)

    # name -> spec lookups, built once
    _assets: dict[str, AssetSpec] = field(init=False, repr=False, compare=False, hash=False)
    _classes: dict[str, ClassSpec] = field(init=False, repr=False, compare=False, hash=False)
    _venues: dict[str, VenueSpec] = field(init=False, repr=False, compare=False, hash=False)
    _holdings: dict[str, HoldingSpec] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in ("assets", "classes", "venues"):
            items = tuple(sorted(getattr(self, name), key=lambda x: x.name))
            object.__setattr__(self, name, items)
        object.__setattr__(self, "holdings", tuple(sorted(self.holdings, key=lambda h: h.id)))
        object.__setattr__(self, "_assets", {a.name: a for a in self.assets})
        object.__setattr__(self, "_classes", {c.name: c for c in self.classes})
        object.__setattr__(self, "_venues", {v.name: v for v in self.venues})
        object.__setattr__(self, "_holdings", {h.id: h for h in self.holdings})
        for kind, table, items in (
            ("asset", self._assets, self.assets),
            ("class", self._classes, self.classes),
            ("venue", self._venues, self.venues),
            ("holding", self._holdings, self.holdings),
        ):
            if len(table) != len(items):
                raise ValueError(f"duplicate {kind} names in the portfolio spec")

    def asset(self, name: str) -> AssetSpec:
        return self._assets[name]

    def has_asset(self, name: str) -> bool:
        return name in self._assets

    def asset_class(self, name: str) -> ClassSpec:
        return self._classes[name]

    def venue(self, name: str) -> VenueSpec:
        return self._venues[name]

    def holding(self, holding_id: str) -> HoldingSpec | None:
        return self._holdings.get(holding_id)

    def max_leg_cost_bps(self) -> int:
        return max((v.cost_bps for v in self.venues), default=0)
