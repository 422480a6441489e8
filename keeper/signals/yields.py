"""Supply yields from the numbers the protocols publish on-chain (Aave V3, Compound V3, ERC-4626).

This module owns the conversion of raw on-chain rate figures into annual rates: Aave's
`currentLiquidityRate` (ray) and `liquidityIndex` growth, Comet's per-second `getSupplyRate`
(and its kinked model from utilization, integer-exact), and an ERC-4626 vault's realised yield
from two share-price observations the keeper journals. It does no I/O: the snapshot readers pass
it integers, and it returns `Decimal` fractions (0.035 means 3.5 % a year).

Precision: rates multiply money, so they stay `Decimal`, computed in `RATE_CONTEXT` (50
significant digits). `(1 + r/n) ** n` with n = 31,536,000 is evaluated by Decimal's integer power;
checked against exp(n * ln(1 + r/n)) at 120 digits it agrees to about 40 significant digits,
and nothing downstream needs more than 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

RAY = 10**27
WAD = 10**18
SECONDS_PER_YEAR = 31_536_000  # 365 days: the year both Aave and Compound use.

RATE_CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)


def _check_non_negative_int(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int (raw on-chain units), got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def compound_per_second(rate_per_second: Decimal) -> Decimal:
    """APY of a per-second rate compounded every second for a 365-day year."""
    with localcontext(RATE_CONTEXT):
        return (1 + rate_per_second) ** SECONDS_PER_YEAR - 1


def annualise_growth(growth: Decimal, seconds: int) -> Decimal:
    """APY implied by a value that grew by factor `growth` over `seconds` (compounded)."""
    if seconds <= 0:
        raise ValueError(f"the observation window must be positive, got {seconds} seconds")
    if growth <= 0:
        raise ValueError(f"growth factor must be positive, got {growth}")
    with localcontext(RATE_CONTEXT):
        return (growth.ln() * SECONDS_PER_YEAR / seconds).exp() - 1


# --- Aave V3 -------------------------------------------------------------------------------


def aave_supply_apr(liquidity_rate_ray: int) -> Decimal:
    """`getReserveData(asset).currentLiquidityRate` (ray) -> annual supply rate, uncompounded."""
    _check_non_negative_int("liquidity_rate_ray", liquidity_rate_ray)
    with localcontext(RATE_CONTEXT):
        return Decimal(liquidity_rate_ray) / RAY


def aave_supply_apy(liquidity_rate_ray: int) -> Decimal:
    """Aave's documented supply APY: (1 + APR / SECONDS_PER_YEAR) ** SECONDS_PER_YEAR - 1.

    Aave accrues supply interest linearly between reserve updates, so the realised APY is at
    most this figure (equal when the reserve is touched every second); use
    `aave_apy_from_index` to measure what was actually earned.
    """
    with localcontext(RATE_CONTEXT):
        return compound_per_second(aave_supply_apr(liquidity_rate_ray) / SECONDS_PER_YEAR)


def aave_apr_from_index(index_start_ray: int, index_end_ray: int, seconds: int) -> Decimal:
    """Simple annualised growth of `liquidityIndex` (ray): (i1 / i0 - 1) * year / seconds."""
    _check_index_pair(index_start_ray, index_end_ray, seconds)
    with localcontext(RATE_CONTEXT):
        return (Decimal(index_end_ray) / index_start_ray - 1) * SECONDS_PER_YEAR / seconds


def aave_apy_from_index(index_start_ray: int, index_end_ray: int, seconds: int) -> Decimal:
    """Compounded annual yield realised by `liquidityIndex` (or getReserveNormalizedIncome)."""
    _check_index_pair(index_start_ray, index_end_ray, seconds)
    with localcontext(RATE_CONTEXT):
        return annualise_growth(Decimal(index_end_ray) / index_start_ray, seconds)


def _check_index_pair(start: int, end: int, seconds: int) -> None:
    _check_non_negative_int("index_start_ray", start)
    _check_non_negative_int("index_end_ray", end)
    if start == 0:
        raise ValueError("index_start_ray must be > 0 (Aave indexes start at 1 ray)")
    if seconds <= 0:
        raise ValueError(f"seconds between the index reads must be positive, got {seconds}")


# --- Compound V3 (Comet) ---------------------------------------------------------------------


def comet_supply_apr(supply_rate_per_second_wad: int) -> Decimal:
    """`getSupplyRate(getUtilization())` (per second, 1e18) -> annual rate, uncompounded."""
    _check_non_negative_int("supply_rate_per_second_wad", supply_rate_per_second_wad)
    with localcontext(RATE_CONTEXT):
        return Decimal(supply_rate_per_second_wad) * SECONDS_PER_YEAR / WAD


def comet_supply_apy(supply_rate_per_second_wad: int) -> Decimal:
    """Per-second compounding of Comet's supply rate: (1 + rate / 1e18) ** year - 1."""
    _check_non_negative_int("supply_rate_per_second_wad", supply_rate_per_second_wad)
    with localcontext(RATE_CONTEXT):
        return compound_per_second(Decimal(supply_rate_per_second_wad) / WAD)


def comet_utilization(total_supply: int, total_borrow: int) -> int:
    """Comet.getUtilization from present values (raw base units): borrow * 1e18 / supply."""
    _check_non_negative_int("total_supply", total_supply)
    _check_non_negative_int("total_borrow", total_borrow)
    if total_supply == 0:
        return 0
    return total_borrow * WAD // total_supply


@dataclass(frozen=True, slots=True)
class CometSupplyCurve:
    """Comet's supply-side kinked rate model, in the contract's per-second 1e18 units.

    Build it from the configurator's per-year figures with `from_per_year`, which divides by
    SECONDS_PER_YEAR with integer truncation exactly as Comet's constructor does.
    """

    kink: int  # utilization (1e18 = 100 %) where the slope changes
    slope_low: int  # per-second rate per unit of utilization below the kink
    slope_high: int  # per-second rate per unit of utilization above the kink
    base: int  # per-second rate at zero utilization

    def __post_init__(self) -> None:
        for name in ("kink", "slope_low", "slope_high", "base"):
            _check_non_negative_int(name, getattr(self, name))

    @classmethod
    def from_per_year(
        cls, kink: int, slope_low_per_year: int, slope_high_per_year: int, base_per_year: int
    ) -> CometSupplyCurve:
        return cls(
            kink=kink,
            slope_low=slope_low_per_year // SECONDS_PER_YEAR,
            slope_high=slope_high_per_year // SECONDS_PER_YEAR,
            base=base_per_year // SECONDS_PER_YEAR,
        )

    def supply_rate(self, utilization: int) -> int:
        """Comet.getSupplyRate(utilization): the per-second supply rate, scaled 1e18."""
        _check_non_negative_int("utilization", utilization)
        if utilization <= self.kink:
            rate = self.base + self.slope_low * utilization // WAD
        else:
            rate = (
                self.base
                + self.slope_low * self.kink // WAD
                + self.slope_high * (utilization - self.kink) // WAD
            )
        if rate >= 1 << 64:
            raise ValueError("supply rate overflows uint64 (Comet's safe64 would revert)")
        return rate


# --- ERC-4626 --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SharePriceObservation:
    """One journaled reading of an ERC-4626 vault: `convertToAssets(10 ** share_decimals)`.

    `assets_per_share` is in the asset's raw units; `timestamp` is the block time in seconds.
    """

    timestamp: int
    assets_per_share: int

    def __post_init__(self) -> None:
        _check_non_negative_int("timestamp", self.timestamp)
        _check_non_negative_int("assets_per_share", self.assets_per_share)
        if self.assets_per_share == 0:
            raise ValueError("assets_per_share must be > 0: the vault reported a zero share price")


def erc4626_realised_apy(
    first: SharePriceObservation, last: SharePriceObservation, *, min_window_seconds: int = 3_600
) -> Decimal:
    """Compounded APY realised between two share-price observations (negative after a loss).

    A window shorter than `min_window_seconds` is refused: integer rounding of the share price
    and a single harvest would then dominate the annualised figure.
    """
    seconds = last.timestamp - first.timestamp
    if seconds < min_window_seconds:
        raise ValueError(
            f"ERC-4626 observation window is {seconds} s; need at least {min_window_seconds} s:"
            " keep an older observation in the journal"
        )
    with localcontext(RATE_CONTEXT):
        growth = Decimal(last.assets_per_share) / first.assets_per_share
        return annualise_growth(growth, seconds)


def apy_to_bps(apy: Decimal) -> Decimal:
    """An annual rate as a fraction -> basis points (0.035 -> 350)."""
    return apy * 10_000
