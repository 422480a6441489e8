"""The economics of moving one slice of a yield position to another: worth it, or why not.

This module owns the parameters of yield migration (seed 002's stablecoin-vault triggers, seed
000's protocol caps and strategy splits, a risk weight per protocol) and `evaluate_move`, the
rule every proposed yield move passes: risk-adjusted APY gap >= the minimum, slippage and gas
under their limits, expected gain over the horizon above the stated costs, payback within the
limit. It takes plain values and returns a `MoveEconomics` or a one-line rejection. Choosing
which moves to make, caps and slicing live in `keeper.signals.migration`.

Units: APYs are `Decimal` fractions (0.05 = 5 %/yr); thresholds are bps; costs and gains are
`Decimal` USD; days are 365 to the year, as the protocols' rates are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from keeper.errors import ConfigError
from keeper.money import BPS, MONEY_CONTEXT, TokenAmount, round_usd

DAYS_PER_YEAR = Decimal(365)
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class StrategyBand:
    """A strategy's target USD with its tolerance (seed 000: lending $7,500 +/- $750)."""

    target_usd: Decimal
    band_usd: Decimal

    def __post_init__(self) -> None:
        if self.target_usd < 0 or not 0 <= self.band_usd <= self.target_usd:
            raise ConfigError(
                f"strategy band: need target_usd >= band_usd >= 0, got {self.target_usd}"
                f" +/- {self.band_usd}"
            )

    @property
    def min_usd(self) -> Decimal:
        return self.target_usd - self.band_usd

    @property
    def max_usd(self) -> Decimal:
        return self.target_usd + self.band_usd


@dataclass(frozen=True, slots=True)
class ProtocolCaps:
    """Portfolio limits a migration must respect (seed 000 "DeFi portfolio").

    single_protocol_max_usd: no move may take a protocol above this (seed 000: $4,500).
    single_protocol_tolerance_usd: a protocol above max + tolerance is brought back to max even
        at a yield cost (seed 000: +/- $450, "rebalance at $4,950 exposure").
    stablecoin_min_usd: stablecoin holdings may not fall below this (seed 000: $7,500).
    strategy_bands: strategy name -> band; a move may not push a strategy outside its band.
    Dollar caps default to None: they belong to one treasury's size, so the config sets them.
    """

    single_protocol_max_usd: Decimal | None = None
    single_protocol_tolerance_usd: Decimal = ZERO
    stablecoin_min_usd: Decimal | None = None
    strategy_bands: Mapping[str, StrategyBand] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("single_protocol_max_usd", "stablecoin_min_usd"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"caps.{name} must be >= 0 or unset, got {value}")
        if self.single_protocol_tolerance_usd < 0:
            raise ConfigError("caps.single_protocol_tolerance_usd must be >= 0")


def seed_000_caps() -> ProtocolCaps:
    """Seed 000's DeFi limits: $4,500 +/- $450 per protocol, $7,500 stablecoins, three splits."""
    return ProtocolCaps(
        single_protocol_max_usd=Decimal(4_500),
        single_protocol_tolerance_usd=Decimal(450),
        stablecoin_min_usd=Decimal(7_500),
        strategy_bands={
            "lending": StrategyBand(Decimal(7_500), Decimal(750)),
            "liquidity": StrategyBand(Decimal(4_500), Decimal(675)),
            "farming": StrategyBand(Decimal(3_000), Decimal(600)),
        },
    )


@dataclass(frozen=True, slots=True)
class MigrationParams:
    """When a yield move is worth making. Defaults are seed 002's stablecoin-vault triggers.

    min_apy_diff_bps: risk-adjusted APY gap required (seed 002: 0.5 % = 50 bps).
    max_slippage_bps: refuse moves whose swap slippage estimate is above (seed 002: 0.1 %).
    max_gas_bps: refuse moves whose gas is above this share of the amount moved (seed 002:
        "gas costs under 0.01 % of position" = 1 bps); None disables the check.
    horizon_days: how long the gap is assumed to last when valuing the gain (keeper choice).
    max_payback_days: costs must be earned back within this many days (keeper choice).
    max_slice_usd: move at most this much per cycle; the rest follows in later cycles
        (seed 002: "gradual migration of large positions"); None moves all at once.
    min_move_usd: do not bother below this (seed 000: "minimum move: $500").
    risk_weights: protocol -> weight in (0, 1] applied to its APY (1 = trusted, the default).
    caps: portfolio limits, see `ProtocolCaps`.
    """

    min_apy_diff_bps: Decimal = Decimal(50)
    max_slippage_bps: Decimal = Decimal(10)
    max_gas_bps: Decimal | None = Decimal(1)
    horizon_days: int = 90
    max_payback_days: int = 30
    max_slice_usd: Decimal | None = None
    min_move_usd: Decimal = ZERO
    risk_weights: Mapping[str, Decimal] = field(default_factory=dict)
    caps: ProtocolCaps = field(default_factory=ProtocolCaps)

    def __post_init__(self) -> None:
        for name in ("min_apy_diff_bps", "max_slippage_bps", "min_move_usd"):
            if getattr(self, name) < 0:
                raise ConfigError(f"migration.{name} must be >= 0, got {getattr(self, name)}")
        if self.max_gas_bps is not None and self.max_gas_bps < 0:
            raise ConfigError("migration.max_gas_bps must be >= 0 or unset")
        if self.horizon_days <= 0 or self.max_payback_days <= 0:
            raise ConfigError("migration.horizon_days and max_payback_days must be > 0 days")
        if self.max_slice_usd is not None and self.max_slice_usd <= 0:
            raise ConfigError("migration.max_slice_usd must be > 0 or unset")
        for protocol, weight in self.risk_weights.items():
            if not 0 < weight <= 1:
                raise ConfigError(
                    f"migration.risk_weights.{protocol} must be in (0, 1], got {weight}"
                )

    def risk_weight(self, protocol: str) -> Decimal:
        return self.risk_weights.get(protocol, Decimal(1))


@dataclass(frozen=True, slots=True)
class YieldHolding:
    """One position in a pool of interchangeable positions (e.g. USDC in Aave, in a vault).

    amount: what the treasury holds here now (raw units; 0 for a candidate destination).
    price_usd: USD per whole token of `asset`. apy: the reader's APY (fraction).
    exit_fee_bps / entry_fee_bps: protocol fees on withdraw / deposit.
    exit_gas_usd / entry_gas_usd: gas to withdraw from / deposit into it, in USD.
    max_deposit: raw units it still accepts (ERC-4626 maxDeposit, supply-cap headroom).
    """

    id: str
    pool: str
    protocol: str
    strategy: str
    asset: str
    amount: TokenAmount
    price_usd: Decimal
    apy: Decimal
    stablecoin: bool = False
    exit_fee_bps: Decimal = ZERO
    entry_fee_bps: Decimal = ZERO
    exit_gas_usd: Decimal = ZERO
    entry_gas_usd: Decimal = ZERO
    max_deposit: int | None = None

    def __post_init__(self) -> None:
        if self.amount.raw < 0:
            raise ValueError(f"holding {self.id}: amount must be >= 0")
        if self.price_usd <= 0:
            raise ValueError(f"holding {self.id}: price_usd must be > 0, got {self.price_usd}")

    @property
    def value_usd(self) -> Decimal:
        return self.amount.value(self.price_usd)


@dataclass(frozen=True, slots=True)
class MoveEconomics:
    """Gain and cost of moving `amount_usd` from one holding to another."""

    amount_usd: Decimal
    risk_adjusted_gap: Decimal  # APY fraction
    annual_gain_usd: Decimal
    horizon_gain_usd: Decimal
    gas_usd: Decimal
    fees_usd: Decimal  # slippage + exit fee + entry fee
    payback_days: Decimal | None  # None when the move gains nothing

    @property
    def cost_usd(self) -> Decimal:
        with localcontext(MONEY_CONTEXT):
            return self.gas_usd + self.fees_usd

    @property
    def net_gain_usd(self) -> Decimal:
        with localcontext(MONEY_CONTEXT):
            return self.horizon_gain_usd - self.cost_usd


@dataclass(frozen=True, slots=True)
class Rejected:
    """A move the rule refused, with the one-line reason."""

    reason: str


def _pct(fraction: Decimal) -> str:
    return f"{fraction * 100:.2f}%"


def price_move(
    source: YieldHolding,
    destination: YieldHolding,
    amount_usd: Decimal,
    params: MigrationParams,
    slippage_bps: Decimal,
) -> MoveEconomics:
    """Gain and costs of a move, whatever they are (no rule applied)."""
    with localcontext(MONEY_CONTEXT):
        gap = destination.apy * params.risk_weight(
            destination.protocol
        ) - source.apy * params.risk_weight(source.protocol)
        annual = gap * amount_usd
        fee_bps = source.exit_fee_bps + destination.entry_fee_bps + slippage_bps
        gas = source.exit_gas_usd + destination.entry_gas_usd
        fees = amount_usd * fee_bps / BPS
        payback = (gas + fees) / annual * DAYS_PER_YEAR if annual > 0 else None
        return MoveEconomics(
            amount_usd=amount_usd,
            risk_adjusted_gap=gap,
            annual_gain_usd=annual,
            horizon_gain_usd=annual * params.horizon_days / DAYS_PER_YEAR,
            gas_usd=gas,
            fees_usd=fees,
            payback_days=payback,
        )


def evaluate_move(
    source: YieldHolding,
    destination: YieldHolding,
    amount_usd: Decimal,
    params: MigrationParams,
    slippage_bps: Decimal,
) -> MoveEconomics | Rejected:
    """The yield-migration rule. Accepts only a move that gains more than it costs.

    Accepted moves satisfy, by construction: gap >= min_apy_diff, slippage <= max, gas <=
    max_gas_bps of the amount, horizon gain > gas + fees, payback <= max_payback_days.
    """
    if amount_usd <= 0:
        return Rejected("nothing to move")
    if amount_usd < params.min_move_usd:
        return Rejected(
            f"${round_usd(amount_usd):,} is below the minimum move ${params.min_move_usd:,}"
        )
    e = price_move(source, destination, amount_usd, params, slippage_bps)
    min_gap = params.min_apy_diff_bps / BPS
    if e.risk_adjusted_gap < min_gap:
        return Rejected(f"risk-adjusted APY gap {_pct(e.risk_adjusted_gap)} < min {_pct(min_gap)}")
    if slippage_bps > params.max_slippage_bps:
        return Rejected(f"slippage {slippage_bps} bps > max {params.max_slippage_bps} bps")
    if params.max_gas_bps is not None and e.gas_usd * BPS > amount_usd * params.max_gas_bps:
        return Rejected(
            f"gas ${round_usd(e.gas_usd):,} is {_pct(e.gas_usd / amount_usd)} of"
            f" ${round_usd(amount_usd):,}, above max {_pct(params.max_gas_bps / BPS)}"
        )
    if e.net_gain_usd <= 0:
        return Rejected(
            f"gains ${round_usd(e.horizon_gain_usd):,} over {params.horizon_days} days,"
            f" costs ${round_usd(e.cost_usd):,}"
        )
    # A positive net gain implies a positive annual gain, so payback_days is set here.
    if e.payback_days is None or e.payback_days > params.max_payback_days:
        shown = "never" if e.payback_days is None else f"{e.payback_days:.1f} days"
        return Rejected(f"payback {shown} > max {params.max_payback_days} days")
    return e
