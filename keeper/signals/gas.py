"""Gas policy: EIP-1559 fee suggestions, the caps, and the defer/act decision.

This module owns:
- turning `eth_feeHistory` numbers into a priority fee and a max fee (wei), and the base-fee trend;
- the EIP-1559 base-fee update rule (to project the next block);
- the cost of a transaction in wei and USD, including an L2's L1 data fee;
- the caps (gwei per gas and USD per transaction; a separate, larger emergency cap that only a
  critical drift may use) and the decision to act or defer, with a one-line reason;
- the replacement bump for a transaction that was not included (both fee fields +12.5% or more,
  never above the cap);
- the cost-benefit rule: act only when the benefit is worth more than gas plus expected slippage.

It must not read a chain, a clock or the environment, and it does not log: it takes plain values
and returns plain values (`keeper.chain.fees` reads the chain). Fees are `int` wei; fiat is
`Decimal`; the only floats are gas-used ratios and percentiles, which are statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum

from keeper.errors import ConfigError
from keeper.money import MONEY_CONTEXT, ZERO, round_usd, to_raw

WEI_PER_GWEI = 10**9
WEI_PER_ETH = 10**18
#: EIP-1559: the base fee moves at most 1/8 per block, around a target of half the gas limit.
BASE_FEE_MAX_CHANGE_DENOMINATOR = 8
ELASTICITY_MULTIPLIER = 2
#: Nodes refuse a replacement unless both fee fields rise; geth needs +10%, we always use more.
MIN_REPLACEMENT_BUMP_BPS = 1_250


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --------------------------------------------------------------------------------------------
# Fee history and the suggestion


@dataclass(frozen=True, slots=True)
class FeeHistory:
    """What `eth_feeHistory` returned, as plain numbers.

    `base_fees_wei` has one entry per block plus one: the last is the base fee of the block after
    the newest (the one a transaction sent now lands in). `rewards_wei[i][j]` is the priority fee
    (wei) at `percentiles[j]` of block `oldest_block + i`.
    """

    oldest_block: int
    base_fees_wei: tuple[int, ...]
    gas_used_ratios: tuple[float, ...]
    rewards_wei: tuple[tuple[int, ...], ...]
    percentiles: tuple[float, ...]

    def __post_init__(self) -> None:
        blocks = len(self.gas_used_ratios)
        if len(self.base_fees_wei) != blocks + 1:
            raise ValueError(
                f"fee history: {len(self.base_fees_wei)} base fees for {blocks} blocks (want blocks + 1)"
            )
        if self.rewards_wei and len(self.rewards_wei) != blocks:
            raise ValueError(
                f"fee history: {len(self.rewards_wei)} reward rows for {blocks} blocks"
            )
        if any(len(row) != len(self.percentiles) for row in self.rewards_wei):
            raise ValueError("fee history: each reward row needs one entry per percentile")
        if any(fee < 0 for fee in self.base_fees_wei) or any(
            r < 0 for row in self.rewards_wei for r in row
        ):
            raise ValueError("fee history: fees cannot be negative")

    @property
    def next_base_fee_wei(self) -> int:
        return self.base_fees_wei[-1]


class Trend(StrEnum):
    RISING = "rising"
    FALLING = "falling"
    FLAT = "flat"


def next_base_fee(parent_base_fee_wei: int, parent_gas_used: int, parent_gas_limit: int) -> int:
    """The EIP-1559 base fee (wei) of the block after a parent with these numbers."""
    target = parent_gas_limit // ELASTICITY_MULTIPLIER
    if target == 0 or parent_gas_used == target:
        return parent_base_fee_wei
    if parent_gas_used > target:
        delta = max(
            parent_base_fee_wei
            * (parent_gas_used - target)
            // target
            // BASE_FEE_MAX_CHANGE_DENOMINATOR,
            1,
        )
        return parent_base_fee_wei + delta
    delta = (
        parent_base_fee_wei
        * (target - parent_gas_used)
        // target
        // BASE_FEE_MAX_CHANGE_DENOMINATOR
    )
    return parent_base_fee_wei - delta


def base_fee_trend(history: FeeHistory, *, flat_band_bps: int = 500) -> Trend:
    """Compare the next base fee with the mean of the window: rising, falling or flat (within the
    band, in bps of the mean)."""
    window = history.base_fees_wei[:-1]
    if not window:
        return Trend.FLAT
    mean = sum(window) // len(window)
    band = mean * flat_band_bps // 10_000
    if history.next_base_fee_wei > mean + band:
        return Trend.RISING
    if history.next_base_fee_wei < mean - band:
        return Trend.FALLING
    return Trend.FLAT


@dataclass(frozen=True, slots=True)
class FeeSuggestion:
    """Fees for a transaction sent now (all wei).

    `max_fee_wei` survives `headroom_blocks` full blocks of base-fee growth; what inclusion is
    expected to cost per gas is `expected_fee_per_gas_wei` (next base fee + priority fee).
    """

    base_fee_wei: int
    priority_fee_wei: int
    max_fee_wei: int
    trend: Trend

    @property
    def expected_fee_per_gas_wei(self) -> int:
        return self.base_fee_wei + self.priority_fee_wei


def suggest_fees(
    history: FeeHistory,
    *,
    reward_index: int | None = None,
    min_priority_fee_wei: int = 10**7,
    headroom_blocks: int = 6,
) -> FeeSuggestion:
    """EIP-1559 fees from a fee history.

    Priority fee: the median, over the non-empty blocks of the window, of the reward at
    `percentiles[reward_index]` (the middle percentile by default), never below
    `min_priority_fee_wei` (private relays drop zero-tip transactions). Empty blocks are skipped
    because their reward is zero whatever the market pays.
    Max fee: the next base fee grown by 12.5% per block for `headroom_blocks` blocks (6 blocks is
    about 2x, the common wallet rule), plus the priority fee, so a transaction survives a run of
    full blocks instead of being dropped.
    """
    if headroom_blocks < 0:
        raise ValueError("headroom_blocks must be >= 0")
    if min_priority_fee_wei < 0:
        raise ValueError("min_priority_fee_wei must be >= 0")
    priority = min_priority_fee_wei
    if history.rewards_wei and history.percentiles:
        index = len(history.percentiles) // 2 if reward_index is None else reward_index
        if not 0 <= index < len(history.percentiles):
            raise ValueError(
                f"reward_index {index} is outside the {len(history.percentiles)} percentiles asked for"
            )
        samples = sorted(
            row[index]
            for row, ratio in zip(history.rewards_wei, history.gas_used_ratios, strict=True)
            if ratio > 0
        )
        if samples:
            priority = max(samples[len(samples) // 2], min_priority_fee_wei)
    base = history.next_base_fee_wei
    grown = base * 9**headroom_blocks
    grown = _ceil_div(grown, 8**headroom_blocks)
    return FeeSuggestion(
        base_fee_wei=base,
        priority_fee_wei=priority,
        max_fee_wei=grown + priority,
        trend=base_fee_trend(history),
    )


# --------------------------------------------------------------------------------------------
# Costs in wei and USD


def wei_to_usd(wei: int, eth_usd: Decimal) -> Decimal:
    """Exact USD value of `wei` at `eth_usd` USD per ETH (the chain's native coin)."""
    if isinstance(eth_usd, float):
        raise TypeError("eth_usd is never a float: pass a Decimal")
    with localcontext(MONEY_CONTEXT):
        return Decimal(wei) * eth_usd / WEI_PER_ETH


def usd_to_wei(usd: Decimal, eth_usd: Decimal) -> int:
    """`usd` in wei at `eth_usd`, rounded down (a budget must never be overstated)."""
    if eth_usd <= 0:
        raise ValueError("eth_usd must be positive")
    with localcontext(MONEY_CONTEXT):
        return to_raw(usd / eth_usd, 18)


def tx_cost_wei(gas_units: int, fee_per_gas_wei: int, l1_fee_wei: int = 0) -> int:
    """What a transaction costs in wei: L2 (or L1) execution gas x price, plus an L2's L1 data fee.

    On OP-stack chains `l1_fee_wei` is GasPriceOracle.getL1Fee; on Arbitrum the L1 part is already
    inside the gas estimate (see `arbitrum_split`), so pass 0 there.
    """
    if gas_units < 0 or fee_per_gas_wei < 0 or l1_fee_wei < 0:
        raise ValueError("gas, fee and L1 fee must be >= 0")
    return gas_units * fee_per_gas_wei + l1_fee_wei


def arbitrum_split(
    gas_estimate: int, gas_estimate_for_l1: int, base_fee_wei: int
) -> tuple[int, int]:
    """NodeInterface.gasEstimateComponents -> (L2 execution gas, L1 data fee in wei).

    Arbitrum charges the L1 data as extra L2 gas units (`gasEstimateForL1`) at the L2 base fee, so
    the L1 fee in wei is those units times the base fee, and the L2 part is the rest of the estimate.
    """
    if gas_estimate_for_l1 > gas_estimate:
        raise ValueError("gasEstimateForL1 cannot exceed gasEstimate")
    return gas_estimate - gas_estimate_for_l1, gas_estimate_for_l1 * base_fee_wei


# --------------------------------------------------------------------------------------------
# Caps and the decision


@dataclass(frozen=True, slots=True)
class GasCaps:
    """Per-chain limits on what one transaction may pay.

    The normal caps hold unless the drift is critical (a hard limit was crossed); then the
    emergency caps, which must be at least the normal ones, apply instead. The defaults are the
    project's (50 gwei, $50); the emergency defaults (200 gwei, $200) are ours, chosen so a
    critical rebalance survives a 4x gas spike.
    """

    max_fee_gwei: Decimal = Decimal(50)
    max_usd_per_tx: Decimal = Decimal(50)
    emergency_max_fee_gwei: Decimal = Decimal(200)
    emergency_max_usd_per_tx: Decimal = Decimal(200)

    def __post_init__(self) -> None:
        for name in (
            "max_fee_gwei",
            "max_usd_per_tx",
            "emergency_max_fee_gwei",
            "emergency_max_usd_per_tx",
        ):
            value = getattr(self, name)
            if isinstance(value, float) or not isinstance(value, Decimal | int):
                raise ConfigError(f"gas cap {name}: use a decimal number such as 50, not {value!r}")
            if value <= 0:
                raise ConfigError(f"gas cap {name}: must be positive, got {value}")
        if self.emergency_max_fee_gwei < self.max_fee_gwei:
            raise ConfigError("gas cap emergency_max_fee_gwei: must be at least max_fee_gwei")
        if self.emergency_max_usd_per_tx < self.max_usd_per_tx:
            raise ConfigError("gas cap emergency_max_usd_per_tx: must be at least max_usd_per_tx")


@dataclass(frozen=True, slots=True)
class FeeCeiling:
    """The highest fee per gas (wei) a transaction may offer, and which cap set it."""

    wei_per_gas: int
    binding: str  # "gwei cap" or "usd cap"
    cap_gwei: Decimal
    cap_usd: Decimal


def fee_ceiling(
    caps: GasCaps, *, gas_units: int, eth_usd: Decimal, l1_fee_wei: int = 0, emergency: bool = False
) -> FeeCeiling:
    """The fee per gas (wei) above which a transaction of `gas_units` breaks a cap.

    A transaction signed with `max_fee <= ceiling` can never cost more than either cap, whatever
    the base fee does: the caps are enforced by the signature, not by hope.
    """
    if gas_units <= 0:
        raise ValueError("gas_units must be positive")
    cap_gwei = caps.emergency_max_fee_gwei if emergency else caps.max_fee_gwei
    cap_usd = caps.emergency_max_usd_per_tx if emergency else caps.max_usd_per_tx
    by_gwei = to_raw(cap_gwei, 9)  # gwei -> wei, rounded down
    budget_wei = usd_to_wei(cap_usd, eth_usd) - l1_fee_wei
    by_usd = max(budget_wei, 0) // gas_units
    if by_usd < by_gwei:
        return FeeCeiling(by_usd, "usd cap", cap_gwei, cap_usd)
    return FeeCeiling(by_gwei, "gwei cap", cap_gwei, cap_usd)


class GasVerdict(StrEnum):
    ACT = "act"
    ACT_EMERGENCY = "act_emergency"
    DEFER_GWEI_CAP = "defer_gwei_cap"
    DEFER_USD_CAP = "defer_usd_cap"


@dataclass(frozen=True, slots=True)
class GasDecision:
    """Act or defer, why, and (when acting) the fees to sign, in wei.

    `expected_cost_*` is the cost at next base fee + priority fee; `worst_cost_*` is what the
    signed `max_fee_wei` allows at most, which never exceeds the cap that applied.
    """

    verdict: GasVerdict
    reason: str
    max_fee_wei: int
    priority_fee_wei: int
    expected_cost_wei: int
    expected_cost_usd: Decimal
    worst_cost_wei: int
    worst_cost_usd: Decimal
    ceiling_wei: int

    @property
    def act(self) -> bool:
        return self.verdict in (GasVerdict.ACT, GasVerdict.ACT_EMERGENCY)


def _gwei(wei: int) -> str:
    value = Decimal(wei) / WEI_PER_GWEI
    return f"{value.quantize(Decimal('0.01'))}"


def decide(
    suggestion: FeeSuggestion,
    caps: GasCaps,
    *,
    gas_units: int,
    eth_usd: Decimal,
    l1_fee_wei: int = 0,
    critical: bool = False,
) -> GasDecision:
    """Act now or defer, within the caps.

    The keeper acts when inclusion now (next base fee + priority fee) fits under the ceiling of
    the normal caps; it then signs `max_fee = min(suggested max fee, ceiling)`. Over the normal
    ceiling it defers, unless `critical` (a hard drift limit is crossed) and the emergency
    ceiling still fits. `gas_units` is the transaction's gas estimate; `l1_fee_wei` the L1 data
    fee on OP-stack chains.
    """
    expected_fee = suggestion.expected_fee_per_gas_wei
    expected_wei = tx_cost_wei(gas_units, expected_fee, l1_fee_wei)
    expected_usd = wei_to_usd(expected_wei, eth_usd)

    def acting(ceiling: FeeCeiling, verdict: GasVerdict, reason: str) -> GasDecision:
        max_fee = min(suggestion.max_fee_wei, ceiling.wei_per_gas)
        priority = min(suggestion.priority_fee_wei, max_fee)
        worst = tx_cost_wei(gas_units, max_fee, l1_fee_wei)
        return GasDecision(
            verdict,
            reason,
            max_fee,
            priority,
            expected_wei,
            expected_usd,
            worst,
            wei_to_usd(worst, eth_usd),
            ceiling.wei_per_gas,
        )

    normal = fee_ceiling(caps, gas_units=gas_units, eth_usd=eth_usd, l1_fee_wei=l1_fee_wei)
    if expected_fee <= normal.wei_per_gas:
        reason = (
            f"gas {_gwei(expected_fee)} gwei, about ${round_usd(expected_usd)} for {gas_units} gas: "
            f"within the {normal.cap_gwei} gwei / ${normal.cap_usd} caps"
        )
        return acting(normal, GasVerdict.ACT, reason)

    over = _over_reason(normal, expected_fee, expected_usd)
    if critical:
        emergency = fee_ceiling(
            caps, gas_units=gas_units, eth_usd=eth_usd, l1_fee_wei=l1_fee_wei, emergency=True
        )
        if expected_fee <= emergency.wei_per_gas:
            reason = (
                f"critical drift: {over}, acting within the emergency caps "
                f"({emergency.cap_gwei} gwei / ${emergency.cap_usd})"
            )
            return acting(emergency, GasVerdict.ACT_EMERGENCY, reason)
        over = (
            "critical drift, but "
            + _over_reason(emergency, expected_fee, expected_usd)
            + " (emergency caps)"
        )
        normal = emergency
    verdict = GasVerdict.DEFER_USD_CAP if normal.binding == "usd cap" else GasVerdict.DEFER_GWEI_CAP
    return GasDecision(
        verdict, f"deferring: {over}", 0, 0, expected_wei, expected_usd, 0, ZERO, normal.wei_per_gas
    )


def _over_reason(ceiling: FeeCeiling, expected_fee: int, expected_usd: Decimal) -> str:
    if ceiling.binding == "usd cap":
        return f"the transaction would cost about ${round_usd(expected_usd)}, over the ${ceiling.cap_usd} cap"
    return f"gas {_gwei(expected_fee)} gwei is over the {ceiling.cap_gwei} gwei cap"


# --------------------------------------------------------------------------------------------
# Replacement


def bump_fees(
    max_fee_wei: int,
    priority_fee_wei: int,
    *,
    cap_wei: int,
    bump_bps: int = MIN_REPLACEMENT_BUMP_BPS,
) -> tuple[int, int] | None:
    """Fees for a replacement transaction (same nonce), or None if the cap does not allow one.

    Both fields rise by at least `bump_bps` (12.5% minimum, rounded up, and by at least 1 wei)
    because nodes refuse a replacement that raises only one. The new max fee may not exceed
    `cap_wei`: over the cap the keeper keeps waiting instead of overpaying.
    """
    if bump_bps < MIN_REPLACEMENT_BUMP_BPS:
        raise ValueError(f"bump_bps must be at least {MIN_REPLACEMENT_BUMP_BPS} (12.5%)")
    if priority_fee_wei > max_fee_wei:
        raise ValueError("priority fee cannot exceed max fee")
    scale = 10_000 + bump_bps
    new_max = max(_ceil_div(max_fee_wei * scale, 10_000), max_fee_wei + 1)
    new_priority = max(_ceil_div(priority_fee_wei * scale, 10_000), priority_fee_wei + 1)
    if new_max > cap_wei:
        return None
    return new_max, new_priority


# --------------------------------------------------------------------------------------------
# Cost-benefit


@dataclass(frozen=True, slots=True)
class CostBenefit:
    act: bool
    net_usd: Decimal
    reason: str


def expected_slippage_usd(notional_usd: Decimal, slippage_bps: int | Decimal) -> Decimal:
    """Expected slippage (USD) on `notional_usd` traded at `slippage_bps`."""
    with localcontext(MONEY_CONTEXT):
        return Decimal(notional_usd) * Decimal(slippage_bps) / 10_000


def cost_benefit(
    *, benefit_usd: Decimal, gas_usd: Decimal, slippage_usd: Decimal, min_edge_usd: Decimal = ZERO
) -> CostBenefit:
    """Act only when the benefit (drift removed, yield gained, loss avoided; USD) is worth more
    than gas plus expected slippage plus a required edge (USD)."""
    for name, value in (
        ("benefit_usd", benefit_usd),
        ("gas_usd", gas_usd),
        ("slippage_usd", slippage_usd),
        ("min_edge_usd", min_edge_usd),
    ):
        if isinstance(value, float):
            raise TypeError(f"{name} is never a float: pass a Decimal")
        if value < 0:
            raise ValueError(f"{name} cannot be negative")
    with localcontext(MONEY_CONTEXT):
        cost = gas_usd + slippage_usd
        net = benefit_usd - cost
    if net > min_edge_usd:
        return CostBenefit(
            True,
            net,
            f"benefit ${round_usd(benefit_usd)} beats cost ${round_usd(cost)} "
            f"(gas ${round_usd(gas_usd)} + slippage ${round_usd(slippage_usd)})",
        )
    return CostBenefit(
        False,
        net,
        f"not worth it: benefit ${round_usd(benefit_usd)} vs cost ${round_usd(cost)} "
        f"(gas ${round_usd(gas_usd)} + slippage ${round_usd(slippage_usd)})"
        + (f" + edge ${round_usd(min_edge_usd)}" if min_edge_usd else ""),
    )
