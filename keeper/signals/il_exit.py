"""The exit rule for LP positions: leave when impermanent loss is too deep, or deep and growing.

This module owns seed 000's "IL management" rule ("minimum IL to exit: 5 %, maximum IL
tolerance: 10 %, check IL vs gas costs, factor in rewards") and the estimate it needs of the
loss that exiting avoids. It takes an `ILReport` from `keeper.signals.il` plus costs in USD
and returns a decision with a one-line reason. It does no I/O and never reads a chain.

The rule:
- loss >= max tolerance: exit (unless exiting costs more than the position is worth);
- min <= loss < max: exit only when the loss avoided over the horizon beats the exit cost;
- loss < min: hold.
The loss is net of fees and rewards by default (seed 000: "factor in rewards").

Loss avoided: IL already suffered is realised either way; exiting avoids *further* divergence.
We value it as the average extra loss of staying in the pool rather than holding today's
amounts, over a one-sigma move up and a one-sigma move down of the pool price across the
horizon, less the fees the position would earn meanwhile. The two-point average matches the
second-order expansion E[IL] ~ sigma^2 T / 8 of a full-range position and uses Uniswap's exact
amount formulas, so a narrow range or an out-of-range position is valued as what it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from keeper.errors import ConfigError
from keeper.money import BPS, round_usd
from keeper.signals import uniswap_v3_math as v3
from keeper.signals.il import (
    IL_CONTEXT,
    ZERO,
    ILReport,
    PairPrices,
    V3PoolState,
    V3Position,
    real_amounts,
)
from keeper.signals.yields import SECONDS_PER_YEAR


@dataclass(frozen=True, slots=True)
class ILExitParams:
    """Exit thresholds; the defaults are seed 000's DeFi "IL management" figures.

    min_il_bps: loss (bps of the hold value) above which an exit is considered (500 = 5 %).
    max_il_bps: loss above which the position is exited (1,000 = 10 %).
    count_fees_and_rewards: measure the loss net of fees earned and configured rewards.
    horizon_days: the window over which the loss avoided by exiting is estimated.
    max_il_exposure_usd: cap on the USD held in IL-exposed positions (seed 000: $3,000);
        None means no cap (a dollar cap only makes sense for the treasury it was written for).
    """

    min_il_bps: int = 500
    max_il_bps: int = 1_000
    count_fees_and_rewards: bool = True
    horizon_days: int = 30
    max_il_exposure_usd: Decimal | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.min_il_bps <= self.max_il_bps <= 10_000:
            raise ConfigError(
                f"il_exit: need 0 <= min_il_bps ({self.min_il_bps}) <= max_il_bps"
                f" ({self.max_il_bps}) <= 10000; e.g. min 500, max 1000"
            )
        if self.horizon_days <= 0:
            raise ConfigError(f"il_exit.horizon_days must be > 0, got {self.horizon_days}")
        if self.max_il_exposure_usd is not None and self.max_il_exposure_usd < 0:
            raise ConfigError("il_exit.max_il_exposure_usd must be >= 0 or unset")


SEED_000_IL = ILExitParams(max_il_exposure_usd=Decimal(3_000))


@dataclass(frozen=True, slots=True)
class LossAvoided:
    """What staying in the pool is expected to cost over the horizon, in USD."""

    divergence_usd: Decimal  # extra loss vs holding today's amounts, averaged over +/-1 sigma
    fees_usd: Decimal  # fees expected over the horizon (0 when out of range)

    @property
    def usd(self) -> Decimal:
        """The loss exiting avoids: divergence less fees, never negative."""
        with localcontext(IL_CONTEXT):
            return max(ZERO, self.divergence_usd - self.fees_usd)


@dataclass(frozen=True, slots=True)
class RealPosition:
    """A position over the reals in human units: liquidity and sqrt prices (token1 per token0).

    `sqrt_lower = 0`, `sqrt_upper = None` is a full-range (V2) position.
    """

    liquidity: Decimal
    sqrt_price: Decimal
    sqrt_lower: Decimal
    sqrt_upper: Decimal | None

    @classmethod
    def from_v2_amounts(cls, amount0: Decimal, amount1: Decimal) -> RealPosition:
        """From a full-range position's principal in whole tokens."""
        with localcontext(IL_CONTEXT):
            return cls((amount0 * amount1).sqrt(), (amount1 / amount0).sqrt(), ZERO, None)

    @classmethod
    def from_v3(cls, position: V3Position, pool: V3PoolState) -> RealPosition:
        """From the integer position: L_human = L_raw / 10 ** ((d0 + d1) / 2)."""
        with localcontext(IL_CONTEXT):
            half_shift = Decimal(10) ** (Decimal(position.decimals0 - position.decimals1) / 2)

            def human(sqrt_x96: int) -> Decimal:
                return Decimal(sqrt_x96) / v3.Q96 * half_shift

            scale = Decimal(10) ** (Decimal(position.decimals0 + position.decimals1) / 2)
            return cls(
                liquidity=Decimal(position.liquidity) / scale,
                sqrt_price=human(pool.sqrt_price_x96),
                sqrt_lower=human(v3.get_sqrt_ratio_at_tick(position.tick_lower)),
                sqrt_upper=human(v3.get_sqrt_ratio_at_tick(position.tick_upper)),
            )

    def value_in_token1(self, sqrt_price: Decimal) -> Decimal:
        with localcontext(IL_CONTEXT):
            x, y = real_amounts(self.liquidity, sqrt_price, self.sqrt_lower, self.sqrt_upper)
            return x * sqrt_price * sqrt_price + y


def estimate_loss_avoided(
    position: RealPosition,
    prices: PairPrices,
    *,
    volatility: Decimal,
    horizon_days: int,
    fee_apr: Decimal,
    in_range: bool,
) -> LossAvoided:
    """The USD a position is expected to lose by staying, over `horizon_days`.

    volatility: annualised volatility of the pool price (0.8 = 80 %/yr), a statistic of the
        caller's price history; fee_apr: fees earned per year / position value (fraction).
    """
    if volatility < 0 or fee_apr < 0:
        raise ValueError("volatility and fee_apr must be >= 0")
    with localcontext(IL_CONTEXT):
        years = Decimal(horizon_days * 86_400) / SECONDS_PER_YEAR
        step = (volatility * years.sqrt()).exp().sqrt()  # sqrt of the 1-sigma price multiplier
        x, y = real_amounts(
            position.liquidity, position.sqrt_price, position.sqrt_lower, position.sqrt_upper
        )
        losses = []
        for sqrt_moved in (position.sqrt_price * step, position.sqrt_price / step):
            held = x * sqrt_moved * sqrt_moved + y
            losses.append(held - position.value_in_token1(sqrt_moved))
        divergence = (losses[0] + losses[1]) / 2 * prices.token1_usd
        value_usd = position.value_in_token1(position.sqrt_price) * prices.token1_usd
        fees = fee_apr * value_usd * years if in_range else ZERO
        return LossAvoided(divergence_usd=max(ZERO, divergence), fees_usd=fees)


@dataclass(frozen=True, slots=True)
class ExitDecision:
    """Exit or hold, the loss the rule looked at, and why, in one line."""

    exit: bool
    above_max: bool  # the loss breaches the maximum tolerance: a policy exit, not a bet
    loss: Decimal  # fraction of the hold value (net of fees/rewards unless configured not to)
    exit_cost_usd: Decimal
    loss_avoided_usd: Decimal | None
    out_of_range: bool
    reason: str


def _pct(fraction: Decimal) -> str:
    return f"{fraction * 100:.2f}%"


def _usd(value: Decimal) -> str:
    return f"${round_usd(value):,}"


def decide_exit(
    report: ILReport,
    *,
    exit_cost_usd: Decimal,
    params: ILExitParams = ILExitParams(),
    loss_avoided: LossAvoided | None = None,
) -> ExitDecision:
    """Apply the exit rule to one measured position.

    exit_cost_usd: gas (and any swap) the exit costs, in USD, from the gas signal.
    loss_avoided: from `estimate_loss_avoided`; without it a position between the thresholds
        is held, since nothing shows that exiting pays.
    """
    loss = report.net_il if params.count_fees_and_rewards else report.il
    min_loss, max_loss = Decimal(params.min_il_bps) / BPS, Decimal(params.max_il_bps) / BPS
    measure = "net IL" if params.count_fees_and_rewards else "IL"
    avoided = loss_avoided.usd if loss_avoided is not None else None
    position_value = report.value_usd + report.fees_usd

    if exit_cost_usd > position_value:
        exit_now = False
        why = (
            f"exit would cost {_usd(exit_cost_usd)},"
            f" more than the position's {_usd(position_value)}"
        )
    elif loss >= max_loss:
        exit_now = True
        why = (
            f"{measure} {_pct(loss)} >= max tolerance {_pct(max_loss)};"
            f" exit costs {_usd(exit_cost_usd)}"
        )
    elif loss >= min_loss:
        if avoided is None:
            exit_now = False
            why = (
                f"{measure} {_pct(loss)} >= min {_pct(min_loss)}"
                " but no estimate of the loss avoided"
            )
        else:
            exit_now = avoided > exit_cost_usd
            relation = ">" if exit_now else "<="
            why = (
                f"{measure} {_pct(loss)} >= min {_pct(min_loss)}; staying risks {_usd(avoided)}"
                f" over {params.horizon_days} days {relation} exit cost {_usd(exit_cost_usd)}"
            )
    else:
        exit_now = False
        why = f"{measure} {_pct(loss)} < min {_pct(min_loss)}"
    if not report.in_range:
        why += "; out of range, earning no fees"
    return ExitDecision(
        exit=exit_now,
        above_max=loss >= max_loss,
        loss=loss,
        exit_cost_usd=exit_cost_usd,
        loss_avoided_usd=avoided,
        out_of_range=not report.in_range,
        reason=("exit: " if exit_now else "hold: ") + why,
    )


def il_exposure_excess(reports: Iterable[ILReport], params: ILExitParams) -> Decimal:
    """USD held in IL-exposed positions above `max_il_exposure_usd` (0 when under or uncapped)."""
    if params.max_il_exposure_usd is None:
        return ZERO
    total = sum((r.value_usd + r.fees_usd for r in reports), ZERO)
    return max(ZERO, total - params.max_il_exposure_usd)
