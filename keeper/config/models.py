"""The `keeper.yaml` schema: pydantic models, one per section, every field documented.

Every model refuses unknown keys (`extra="forbid"`): a typo is an error with a "did you mean",
never a silently ignored setting. Types and ranges are checked here; rules that span sections
(targets add up, a holding names a declared venue, a quote asset is held on its venue) are
checked by `keeper.config.semantics`, which knows the exact YAML path to blame.

Secrets never live in this file. Venues name the *environment variables* that hold API keys or
an RPC URL with a key in it (`credentials_env`, `rpc_url_env`); a key called `api_key`,
`secret`, `private_key`, `password` or `mnemonic` anywhere is refused with that advice.

Shape (see `examples/keeper.yaml` for a full one):

    venues:    {name: VenueConfig}           where trades happen (chains, CEX accounts, brokers)
    classes:   {name: ClassConfig}           seed 000's tiers, each with its assets
      assets:  {name: AssetConfig}           an exposure with a target, a band, its holdings
        holdings: [HoldingConfig]            where the asset sits (token/vault/atoken/symbol)
    defaults, strategy, schedule, limits, execution, gas, prices, tax, risk
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from keeper.config.values import Bps, Percent, Seconds, Target, TargetValue, Usd
from keeper.core.spec import Cadence

#: Names of environment variables (never their values).
ENV_NAME = r"^[A-Z][A-Z0-9_]{0,63}$"


class Strict(BaseModel):
    """Base: unknown keys are errors, field docstrings are the documentation."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


# --- bands, gas, prices ----------------------------------------------------------------------


class BandConfig(Strict):
    """A soft and a hard limit around a target (seed 000: +-5%/+-10% for ETFs, +-10%/+-20% "
    "crypto)."""

    soft: Percent
    """Soft limit: past it the asset is "soft limit exceeded" (high priority) and strategies act."""
    hard: Percent
    (
        """Hard limit: past it the asset is "hard limit exceeded" (critical: act now). Must be >= "
        "soft."""
    )
    mode: Literal["relative", "absolute"] = "relative"
    """relative: widths are % of the target value (BTC $20,000 +-10% = +-$2,000).
    absolute: widths are percentage points of the portfolio (60% target, 55-65% band: write 5%)."""

    @model_validator(mode="after")
    def _ordered(self) -> BandConfig:
        if self.soft < 0 or self.hard < 0:
            raise ValueError("band limits must be >= 0%")
        if self.hard < self.soft:
            raise ValueError(

                    f"hard limit ({self.hard * 100:f}%) is below the soft limit "
                    f"({self.soft * 100:f}%): make hard >= soft"

            )
        if self.mode == "absolute" and self.hard > 1:
            raise ValueError("an absolute band cannot be wider than 100 percentage points")
        return self


class GasPolicy(Strict):
    """Gas limits for on-chain legs (seed 000: max 50 gwei, max $50 per transaction)."""

    max_gwei: Decimal = Field(Decimal(50), gt=0, le=10_000)
    """Do not send when the base fee + tip would exceed this many gwei."""
    max_usd_per_tx: Usd = Decimal(50)
    """Do not send a transaction whose expected gas costs more than this many USD."""

    @field_validator("max_gwei", mode="before")
    @classmethod
    def _no_float(cls, v: Any) -> Any:
        return Decimal(repr(v)) if isinstance(v, float) else v


class PriceConfig(Strict):
    """Where an asset's USD price comes from. Without `feed` or `fixed`, each venue reader prices
    its own holdings (CEX ticker, broker quote)."""

    feed: str | None = None
    """A Chainlink-style USD feed: address-book key or 0x address, on `feed_venue`."""
    feed_venue: str | None = None
    """The chain venue the feed lives on (defaults to the first chain venue)."""
    fixed: Usd | None = None
    """A constant USD price. Only for the unit of account itself (broker USD cash)."""
    max_age: Seconds | None = None
    """Older prices make the asset unpriced (blocks trading it). Default: prices.max_age."""

    @model_validator(mode="after")
    def _one_source(self) -> PriceConfig:
        if self.feed is not None and self.fixed is not None:
            raise ValueError("give either feed or fixed, not both")
        if self.fixed is not None and self.fixed <= 0:
            raise ValueError("a fixed price must be > 0")
        return self


class PricesConfig(Strict):
    """Price freshness for every asset."""

    max_age: Seconds = 3_600
    """A price older than this (seconds, or "15m", "1h") makes its position unpriced."""


# --- venues ----------------------------------------------------------------------------------


class StaticSource(Strict):
    """Read this venue's balances and prices from a YAML/JSON file (see keeper.venues.static)."""

    static: str
    """Path of the file, relative to keeper.yaml."""


class VenueConfig(Strict):
    """One place where trades happen: a chain (one account on it), a CEX account, a broker "
    "account."""

    kind: Literal["chain", "cex", "broker"]
    """chain, cex or broker."""
    chain_id: int | None = Field(None, ge=1)
    """Chains only: the chain id (1 mainnet, 31337 the local devnet)."""
    rpc_url_env: str | None = Field(None, pattern=ENV_NAME)
    """Chains only: the environment variable holding the RPC URL (it may embed a key)."""
    address_book: str | None = None
    """Chains only: a JSON file mapping names to addresses (relative to keeper.yaml), so holdings
    can say `token: USDC` instead of an address."""
    account: str | None = None
    """Chains only: the treasury's account on this chain, whose balances are read and traded: the
    BatchRebalancer contract (an address-book key such as `rebalancer`, or a 0x address)."""
    exchange: str | None = None
    """CEX only: the ccxt exchange id (binance, coinbase, kraken, bybit, okx)."""
    broker: Literal["alpaca", "ibkr", "mt5"] | None = None
    """Broker only: which broker adapter."""
    credentials_env: str | None = Field(None, pattern=ENV_NAME)
    """CEXs and brokers: prefix of this venue's environment variables (default: the venue name
    in capitals and "_", e.g. BINANCE_). Never the secrets themselves. The keeper reads:

    - <PREFIX>API_KEY and <PREFIX>API_SECRET: the API key pair (ccxt exchanges and Alpaca);
      OKX also <PREFIX>API_PASSPHRASE. IBKR needs none: the Client Portal Gateway holds the
      login; <PREFIX>ACCOUNT_ID picks one of its accounts (default: the selected one).
    - <PREFIX>BASE_URL (optional): the API root to talk to instead of the venue's own, e.g. a
      testnet or the local servers of the devnet (BINANCE_BASE_URL=http://127.0.0.1:8301).
      IBKR: the gateway's API root (default https://localhost:5000/v1/api). Alpaca: the trading
      API (default the paper API https://paper-api.alpaca.markets; live is
      https://api.alpaca.markets); quotes come from <PREFIX>DATA_URL, which defaults to
      https://data.alpaca.markets for Alpaca's own hosts and to BASE_URL otherwise.
      Checked when the venue is built, before any request: an http(s) URL with a host, no
      user:password, query or fragment, and plain http only on a loopback address (keys travel
      in request headers)."""
    reader: Literal["chain", "ccxt", "broker"] | StaticSource | None = None
    """How to read balances: the venue's own reader (default for its kind) or {static: file}."""
    pairing: Literal["direct", "via_quote"] | None = None
    """direct: any asset swaps into any other in one leg (DEX router; default for chains).
    via_quote: every trade is against `quote` (default for CEXs and brokers)."""
    quote: str | None = None
    """The asset trades settle in (USDT on a CEX, USD at a broker). Required for via_quote."""
    fee_bps: Bps | None = Field(None, ge=0, le=1_000)
    """Expected fee per leg in basis points (default: defaults.fee_bps for the kind)."""
    slippage_bps: Bps | None = Field(None, ge=0, le=1_000)
    """Expected slippage per leg in basis points (default: defaults.slippage_bps for the kind)."""
    min_trade: Usd | None = Field(None, ge=0)
    """Legs below this USD notional are dropped (default: defaults.min_trade for the kind)."""
    gas: GasPolicy | None = None
    """Chains only: overrides the top-level gas policy for this chain."""


# --- classes, assets, holdings -------------------------------------------------------------


class HoldingConfig(Strict):
    """Where some of an asset sits. Give exactly one of token, vault, atoken, native, symbol."""

    venue: str
    """The venue (a key of `venues`)."""
    token: str | None = None
    """Chains: an ERC-20 balance of the venue's account: address-book key (USDC) or 0x address."""
    vault: str | None = None
    """Chains: ERC-4626 shares valued via convertToAssets: a key (vault_usdc_a) or 0x address."""
    atoken: str | None = None
    """Chains: an Aave V3 aToken balance: an address-book key (aUSDC) or a 0x address."""
    native: bool | None = None
    """Chains: the gas coin balance (counted, kept for gas, not traded)."""
    symbol: str | None = None
    """CEXs and brokers: the currency or ticker (BTC, USDT, SPY, USD)."""
    id: str | None = Field(None, min_length=1, max_length=80)
    """A stable name for this holding (default: venue:ref, e.g. devnet:vault_usdc_a)."""
    decimals: int | None = Field(None, ge=0, le=77)
    """Units of the raw amount; chains read it, CEX/broker holdings default to 8."""

    @model_validator(mode="after")
    def _exactly_one(self) -> HoldingConfig:
        given = [k for k in ("token", "vault", "atoken", "native", "symbol") if getattr(self, k)]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(
                f"give exactly one of token, vault, atoken, native, symbol (found: {found})"
            )
        return self

    @property
    def ref_kind(self) -> str:
        return next(k for k in ("token", "vault", "atoken", "native", "symbol") if getattr(self, k))

    @property
    def ref(self) -> str:
        value = getattr(self, self.ref_kind)
        return "native" if value is True else str(value)


class AssetConfig(Strict):
    """An economic exposure (BTC, USDC, SPY) with its target, band and holdings."""

    target: Target
    """Share of the portfolio: "25%", or a USD amount "$20,000" (then every target is in USD and
    they scale with the portfolio)."""
    band: BandConfig | None = None
    """This asset's band (default: its class's asset_band, then defaults.band)."""
    price: PriceConfig | None = None
    """Where the price comes from (default: each venue reader prices its holdings)."""
    holdings: list[HoldingConfig] = Field(min_length=1)
    """Where the asset sits; at least one. The planner trades through liquid ones (wallet ERC-20,
    CEX balance, broker position); vaults and aTokens count toward drift."""


Frequency = Literal["daily", "weekly", "monthly", "quarterly"]


class ClassConfig(Strict):
    """A group of assets (seed 000's tiers: Core ETFs, BTC/ETH, Alt L1, DeFi, Fixed income, "
    "Cash)."""

    label: str | None = None
    """Display name (default: the key)."""
    target: Target | None = None
    """Optional: if given it must equal the sum of the assets' targets."""
    band: BandConfig | None = None
    """The class's own band on its total (default: defaults.class_band)."""
    asset_band: BandConfig | None = None
    """Default band for the assets inside (default: defaults.band)."""
    frequency: Frequency | list[Frequency] = "daily"
    """Seed 000's frequency matrix row: the cadences at which this class may trade, as the fastest
    one ("weekly") or the list of ticks (["weekly", "monthly", "quarterly"])."""
    cash: bool = False
    """Cash and stablecoins: counted for the cash reserve, spent by the cash-flow strategy."""
    assets: dict[str, AssetConfig] = Field(min_length=1)
    """The assets of this class, by name (unique across classes)."""

    @field_validator("frequency")
    @classmethod
    def _monotone(cls, v: Any) -> Any:
        if isinstance(v, list):
            if not v:
                raise ValueError("list at least one cadence, e.g. [weekly, monthly, quarterly]")
            chosen = sorted({Cadence[x.upper()] for x in v})
            expected = [c for c in Cadence if c >= chosen[0]]
            if chosen != expected:
                raise ValueError(
                    "a class that may trade at a cadence may also trade at every slower one: "
                    f"write [{', '.join(c.label for c in expected)}]"
                )
        return v

    @property
    def fastest(self) -> Cadence:
        items = self.frequency if isinstance(self.frequency, list) else [self.frequency]
        return min(Cadence[x.upper()] for x in items)


# --- policy sections -------------------------------------------------------------------------


class UsdPerKind(Strict):
    """USD amounts per venue kind."""

    chain: Usd = Decimal(500)
    """On-chain legs (seed 000: crypto minimum move $500)."""
    cex: Usd = Decimal(100)
    """CEX legs (seed 001: $100)."""
    broker: Usd = Decimal(1_000)
    """Broker legs (seed 000: ETF minimum rebalance size $1,000)."""


class BpsPerKind(Strict):
    """Basis points per venue kind."""

    chain: Bps = Field(30, ge=0, le=1_000)
    cex: Bps = Field(10, ge=0, le=1_000)
    broker: Bps = Field(5, ge=0, le=1_000)


class DefaultsConfig(Strict):
    """Defaults that classes, assets and venues inherit."""

    band: BandConfig = BandConfig(soft=Decimal("0.1"), hard=Decimal("0.2"))
    """Band of an asset that sets none (default +-10%/+-20% relative)."""
    class_band: BandConfig = BandConfig(soft=Decimal("0.1"), hard=Decimal("0.2"))
    """Band of a class that sets none."""
    min_trade: UsdPerKind = UsdPerKind()
    """Minimum leg size per venue kind."""
    fee_bps: BpsPerKind = BpsPerKind(chain=30, cex=10, broker=0)
    """Expected fee per leg per venue kind."""
    slippage_bps: BpsPerKind = BpsPerKind(chain=30, cex=10, broker=5)
    """Expected slippage per leg per venue kind."""


class StrategyConfig(Strict):
    """How the keeper chooses what to move (keeper.core.strategies)."""

    kind: Literal["threshold", "band", "calendar", "cash_flow", "hybrid"] = "threshold"
    """threshold: past-band assets to target. band: past-band assets to the band edge or target.
    calendar: everything to target on schedule. cash_flow: new cash buys underweight assets,
    nothing is sold. hybrid: check on the schedule, act by threshold."""
    return_to: Literal["target", "edge"] = "target"
    """band strategy: take an asset that left its band back to target or to just inside the edge."""
    edge_margin: Percent = Field(Decimal("0.1"), ge=0, le=1)
    """band strategy with return_to: edge: land this share of the soft width inside the edge."""
    urgent_override: bool = True
    """A hard-limit breach acts on any run, off-schedule and past the frequency matrix."""


class LimitsConfig(Strict):
    """Portfolio-wide limits every plan respects."""

    cash_reserve: Target = TargetValue(usd=Decimal(0))
    """Keep at least this much in cash classes: "10%" of the portfolio or "$10,000"."""
    max_single_asset: Percent | None = Field(None, gt=0, le=1)
    """No non-cash asset may be bought above this share of the portfolio ("50%"); assets above
    it are sold down to it."""


class ExecutionConfig(Strict):
    """How legs are sent (read by the executors, a later issue)."""

    slippage_tolerance: Percent = Field(Decimal("0.005"), gt=0, le=Decimal("0.1"))
    """The worst price a leg may accept vs the quote ("0.5%"): its minimum out."""
    use_limit_orders: bool = True
    """CEX/broker legs as limit orders priced at the touch plus the venue's slippage_bps. false:
    "market" orders, sent as limit orders at the touch plus the whole slippage_tolerance (a
    venue never gets an unbounded order)."""
    split_orders_above: Usd | None = Field(None, gt=0)
    """Split CEX/broker legs larger than this notional into slices (seed 001: $10,000), in the
    venue's quote units (USDT, USD). Unset: one order per leg (within the venue's size limit)."""
    prefer_dex: bool = False
    """When an asset trades both on a chain and on a CEX, prefer the chain."""
    off_hours: Literal["wait_for_open", "day_limit"] = "wait_for_open"
    """Broker legs outside market hours (exchange calendar): wait_for_open sends nothing until the
    session opens (a later cycle places them); day_limit rests day limit orders now, which fill
    from the open and expire at the close."""


class TaxConfig(Strict):
    """Tax settings (seed 001), read by keeper.tax (a later issue)."""

    enable_tlh: bool = False
    """Tax-loss harvesting."""
    lot_selection: Literal["fifo", "lifo", "hifo"] = "fifo"
    """Which lots a sale consumes first."""
    wash_sale_days: int = Field(30, ge=0, le=366)
    """Block re-buying an asset sold at a loss for this many days."""
    long_term_preference: bool = True
    """Prefer selling lots held longer than a year."""
    jurisdiction: Literal["US", "DE", "UK", "EU"] = "US"
    """Whose rules apply."""


class RiskConfig(Strict):
    """Risk limits (seed 001) read by the risk checks (a later issue)."""

    max_correlation: Decimal | None = Field(None, ge=0, le=1)
    """Alert when the portfolio's average pairwise correlation exceeds this."""
    drawdown_reduce_at: Percent | None = Field(None, gt=0, le=1)
    """Reduce risk assets when the portfolio is down this much from its peak."""

    @field_validator("max_correlation", mode="before")
    @classmethod
    def _no_float(cls, v: Any) -> Any:
        return Decimal(repr(v)) if isinstance(v, float) else v


class TreasuryConfig(Strict):
    """Who this is for."""

    name: str = Field(min_length=1)
    """A display name."""


class KeeperConfig(Strict):
    """The whole keeper.yaml."""

    version: Literal[1] = 1
    """Schema version."""
    enabled: bool = True
    """false: the keeper reads, decides and journals, but never executes."""
    treasury: TreasuryConfig
    """Who this is for."""
    venues: dict[str, VenueConfig] = Field(min_length=1)
    """Where trades happen, by name."""
    classes: dict[str, ClassConfig] = Field(min_length=1)
    """Asset classes with their assets."""
    defaults: DefaultsConfig = DefaultsConfig()
    """Defaults for bands, minimum trades, fees."""
    strategy: StrategyConfig = StrategyConfig()
    """The rebalancing strategy."""
    schedule: str | dict[str, str] | None = None
    """When scheduled rebalances happen: "weekly monday 09:00 America/New_York", a cron line
    "0 9 * * 1", or {type, day, time, timezone}. Required by calendar and hybrid."""
    limits: LimitsConfig = LimitsConfig()
    """Cash reserve and max single asset."""
    execution: ExecutionConfig = ExecutionConfig()
    """Slippage tolerance and order style."""
    gas: GasPolicy = GasPolicy()
    """Gas policy for every chain (a venue's gas overrides it)."""
    prices: PricesConfig = PricesConfig()
    """Price freshness."""
    tax: TaxConfig | None = None
    """Tax settings (optional)."""
    risk: RiskConfig = RiskConfig()
    """Risk limits (optional)."""
