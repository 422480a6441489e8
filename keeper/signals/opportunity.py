"""Opportunity-based rebalancing: drift, yield and IL on one USD scale, each explained in a line.

This module owns the last word before planning: every candidate action, whatever signal raised
it, arrives as an `Opportunity` (USD benefit over the horizon, USD cost, whether a policy limit
is breached, what triggered it), and `weigh` decides act or defer for each and says why in one
line: what it gains, what it costs, the payback, why now. Because the on-chain legs share one
batch transaction, the batch's fixed overhead is paid once and discretionary actions together
must cover it; seed 000's "maximum gas per tx" bounds the gas the discretionary acts may add
(a policy breach is never dropped for it).

Policy breaches (drift outside its band, IL above the maximum, a protocol over its cap) are
mandatory: they go ahead unless their cost exceeds `max_mandatory_cost_bps` of the value they
touch, in which case they wait for cheaper execution. Everything else must pay for itself.
Pure: plain values in, plain values out; the runner journals the lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Literal

from keeper.errors import ConfigError
from keeper.money import BPS, MONEY_CONTEXT, round_usd
from keeper.signals.il import ILReport
from keeper.signals.il_exit import ExitDecision
from keeper.signals.migration import Move

ZERO = Decimal(0)
DAYS_PER_YEAR = Decimal(365)

Kind = Literal["drift", "yield", "cap", "il"]


@dataclass(frozen=True, slots=True)
class Opportunity:
    """One candidate action on the common scale.

    benefit_usd: USD it is expected to gain or save over the horizon (0 for a pure policy act).
    annual_benefit_usd: the same as a yearly rate when it is one (yield), for the payback.
    gas_usd / other_cost_usd: its marginal gas in the batch / swap fees, slippage, exit fees.
    value_touched_usd: USD value the action moves (for the mandatory cost ceiling, in bps).
    mandatory: a policy limit is breached. blocked: its own rule already said no (and why).
    """

    kind: Kind
    subject: str
    benefit_usd: Decimal
    gas_usd: Decimal
    other_cost_usd: Decimal
    value_touched_usd: Decimal
    mandatory: bool
    why_now: str
    annual_benefit_usd: Decimal | None = None
    blocked: str | None = None

    @property
    def cost_usd(self) -> Decimal:
        with localcontext(MONEY_CONTEXT):
            return self.gas_usd + self.other_cost_usd

    @property
    def net_usd(self) -> Decimal:
        with localcontext(MONEY_CONTEXT):
            return self.benefit_usd - self.cost_usd

    @property
    def payback_days(self) -> Decimal | None:
        if not self.annual_benefit_usd or self.annual_benefit_usd <= 0:
            return None
        with localcontext(MONEY_CONTEXT):
            return self.cost_usd / self.annual_benefit_usd * DAYS_PER_YEAR


@dataclass(frozen=True, slots=True)
class OpportunityParams:
    """How benefit and cost are weighed.

    max_mandatory_cost_bps: a policy breach is fixed now unless that costs more than this share
        of the value it touches (100 = 1 %); above it the keeper waits for cheaper gas.
    max_payback_days: discretionary actions with a yearly benefit must pay back within this.
    max_batch_gas_usd: seed 000's "maximum gas per tx: $50"; None = no limit.
    batch_overhead_usd: the batch transaction's fixed gas (intrinsic 21k and the contract's
        fixed checks) in USD, paid once whatever the number of legs; from the gas signal.
    """

    max_mandatory_cost_bps: Decimal = Decimal(100)
    max_payback_days: int = 30
    max_batch_gas_usd: Decimal | None = None
    batch_overhead_usd: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.max_mandatory_cost_bps < 0 or self.batch_overhead_usd < 0:
            raise ConfigError(
                "opportunity: max_mandatory_cost_bps and batch_overhead_usd must be >= 0"
            )
        if self.max_payback_days <= 0:
            raise ConfigError("opportunity.max_payback_days must be > 0 days")
        if self.max_batch_gas_usd is not None and self.max_batch_gas_usd <= 0:
            raise ConfigError("opportunity.max_batch_gas_usd must be > 0 or unset")


@dataclass(frozen=True, slots=True)
class Verdict:
    opportunity: Opportunity
    act: bool
    line: str


def _usd(value: Decimal) -> str:
    return f"${round_usd(value):,}"


def _gains(o: Opportunity) -> str:
    if o.kind == "yield" and o.annual_benefit_usd is not None:
        return f"gains {_usd(o.annual_benefit_usd)}/yr"
    if o.kind == "il":
        return f"avoids {_usd(o.benefit_usd)} of further loss"
    if o.kind == "cap":
        return f"brings {_usd(o.value_touched_usd)} back under the cap"
    if o.kind == "drift":
        return f"restores {_usd(o.value_touched_usd)} to target"
    return f"gains {_usd(o.benefit_usd)}"


def _line(o: Opportunity, act: bool, why: str) -> str:
    payback = f"payback {o.payback_days:.1f} days" if o.payback_days is not None else "no payback"
    head = "act" if act else "defer"
    tail = f"why now: {o.why_now}" if act else f"deferred: {why}"
    return f"{head} {o.kind} {o.subject}: {_gains(o)}, costs {_usd(o.cost_usd)}, {payback}; {tail}"


def _alone(o: Opportunity, params: OpportunityParams) -> tuple[bool, str]:
    """Does this opportunity pass on its own merits? (act, reason if not)."""
    if o.blocked is not None:
        return False, o.blocked
    if o.mandatory:
        ceiling = o.value_touched_usd * params.max_mandatory_cost_bps / BPS
        if o.cost_usd > ceiling:
            return False, (
                f"policy breach ({o.why_now}) but cost {_usd(o.cost_usd)} exceeds"
                f" {params.max_mandatory_cost_bps} bps of {_usd(o.value_touched_usd)};"
                " waiting for cheaper gas"
            )
        return True, ""
    if o.net_usd <= 0:
        return False, f"benefit {_usd(o.benefit_usd)} does not cover cost {_usd(o.cost_usd)}"
    payback = o.payback_days
    if payback is not None and payback > params.max_payback_days:
        return False, f"payback {payback:.1f} days > max {params.max_payback_days}"
    return True, ""


def weigh(
    opportunities: Iterable[Opportunity], params: OpportunityParams = OpportunityParams()
) -> tuple[Verdict, ...]:
    """Act or defer on each opportunity, with its line, in the order given.

    Discretionary acts are kept best-first (by net USD) while they fit the batch gas limit,
    and are all deferred if together they do not cover the batch overhead that no mandatory
    act is paying for anyway.
    """
    items = list(opportunities)
    decided = {i: _alone(o, params) for i, o in enumerate(items)}
    acting = [i for i, (act, _) in decided.items() if act]
    mandatory = [i for i in acting if items[i].mandatory]
    optional = sorted(
        (i for i in acting if not items[i].mandatory), key=lambda i: -items[i].net_usd
    )

    gas = params.batch_overhead_usd + sum((items[i].gas_usd for i in mandatory), ZERO)
    kept: list[int] = []
    for i in optional:
        if (
            params.max_batch_gas_usd is not None
            and gas + items[i].gas_usd > params.max_batch_gas_usd
        ):
            decided[i] = (
                False,
                f"batch gas would exceed the {_usd(params.max_batch_gas_usd)} limit",
            )
            continue
        gas += items[i].gas_usd
        kept.append(i)

    combined = sum((items[i].net_usd for i in kept), ZERO)
    if kept and not mandatory and combined <= params.batch_overhead_usd:
        for i in kept:
            decided[i] = (
                False,
                f"with the others it nets {_usd(combined)}, not the batch overhead"
                f" {_usd(params.batch_overhead_usd)}",
            )
    return tuple(
        Verdict(opportunity=o, act=decided[i][0], line=_line(o, decided[i][0], decided[i][1]))
        for i, o in enumerate(items)
    )


# --- adapters from the signals ------------------------------------------------------------------


def from_move(move: Move, *, why_now: str | None = None) -> Opportunity:
    """A migration leg as an opportunity (its gas and fees are already in its economics)."""
    e = move.economics
    if move.kind == "cap":
        trigger = why_now or f"{move.from_id}'s protocol is above its cap"
    else:
        trigger = why_now or f"risk-adjusted APY gap {e.risk_adjusted_gap * 100:.2f}%"
    return Opportunity(
        kind=move.kind,
        subject=f"{move.from_id} -> {move.to_id}",
        benefit_usd=e.horizon_gain_usd,
        annual_benefit_usd=e.annual_gain_usd,
        gas_usd=e.gas_usd,
        other_cost_usd=e.fees_usd,
        value_touched_usd=e.amount_usd,
        mandatory=move.kind == "cap",
        why_now=trigger,
    )


def from_exit(
    subject: str, report: ILReport, decision: ExitDecision, *, gas_usd: Decimal
) -> Opportunity:
    """An LP exit as an opportunity; a hold decision arrives blocked with its own reason."""
    return Opportunity(
        kind="il",
        subject=subject,
        benefit_usd=decision.loss_avoided_usd or ZERO,
        gas_usd=gas_usd,
        other_cost_usd=max(ZERO, decision.exit_cost_usd - gas_usd),
        value_touched_usd=report.value_usd + report.fees_usd,
        mandatory=decision.exit and decision.above_max,
        why_now=decision.reason.removeprefix("exit: "),
        blocked=None if decision.exit else decision.reason.removeprefix("hold: "),
    )


def from_drift(
    subject: str,
    *,
    drift_usd: Decimal,
    band_usd: Decimal,
    gas_usd: Decimal,
    other_cost_usd: Decimal,
    benefit_usd: Decimal = ZERO,
) -> Opportunity:
    """A drift correction: mandatory outside its band, otherwise only if `benefit_usd` pays.

    drift_usd: USD away from target (signed); band_usd: the tolerance (seed 000 bands).
    benefit_usd: any USD value the drift signal puts on correcting early (0 by default, so
    inside the band nothing happens, as bands intend).
    """
    outside = abs(drift_usd) > band_usd
    side = "over" if drift_usd > 0 else "under"
    trigger = f"{_usd(abs(drift_usd))} {side} target, band {_usd(band_usd)}"
    return Opportunity(
        kind="drift",
        subject=subject,
        benefit_usd=benefit_usd,
        gas_usd=gas_usd,
        other_cost_usd=other_cost_usd,
        value_touched_usd=abs(drift_usd),
        mandatory=outside,
        why_now=trigger,
        blocked=None if outside or benefit_usd > 0 else f"inside band ({trigger})",
    )
