"""Tax-aware planning, end to end: the planner's path for a taxable treasury.

`plan_taxable` runs, in order:

1. the re-buy rules on the strategy's goal (`taxgoal.apply_rebuy_rules`): buys that would
   trigger a wash sale (or the UK 30-day rule) are blocked or moved onto their substitute;
2. gains deferral inside each class (`taxgoal.defer_gains`) and tax-ordered funding
   (`taxgoal.sell_tiers`);
3. the ordinary planner on that goal (matching, consolidation, pairing, costs);
4. loss-harvest pairs when harvesting is on (`harvestplan.harvest_pairs`), appended;
5. lot selection and the estimated tax of every sale (`taxcost.apply_taxes`), with the tax the
   deferral saved against the same rebalance planned without step 2.

Without a `TaxContext` none of this runs (`keeper.core.planner.decide(..., tax=None)`). This
module must not do I/O, and must not import `keeper.core.planner` (the planner calls it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from keeper.core.drift import DriftReport
from keeper.core.harvestplan import HarvestResult, harvest_pairs
from keeper.core.plan import Plan
from keeper.core.portfolio import Snapshot
from keeper.core.spec import PortfolioSpec
from keeper.core.strategies import Goal, RunContext, may_trade
from keeper.core.taxcontext import TaxContext
from keeper.core.taxcost import apply_taxes
from keeper.core.taxgoal import apply_rebuy_rules, defer_gains, sell_tiers
from keeper.money import ZERO

PlanFn = Callable[..., Plan]  # keeper.core.planner.plan_goal


def plan_taxable(
    spec: PortfolioSpec,
    snapshot: Snapshot,
    ctx: RunContext,
    report: DriftReport,
    goal: Goal,
    tax: TaxContext,
    plan_goal: PlanFn,
) -> tuple[Goal, Plan]:
    """The tax-aware goal and its plan (see the module docstring)."""
    allowed = {row.name: may_trade(row, report, spec, ctx) for row in report.assets}
    ruled = apply_rebuy_rules(goal, report, spec, snapshot, tax, lambda a: allowed.get(a, False))
    shaped = defer_gains(ruled, report, spec, snapshot, tax)
    tiers = sell_tiers(shaped, spec, snapshot, tax)
    plan = plan_goal(spec, snapshot, report, shaped, sell_tiers=tiers)
    harvest = harvest_pairs(plan, spec, snapshot, report, tax)
    plan = _with_harvest(plan, harvest)
    steps = frozenset(s for pair in harvest.pairs for s in pair.steps)
    plan = apply_taxes(plan, spec, snapshot, tax, specific=harvest.specific, harvest_steps=steps)
    if (shaped is not ruled or tiers) and plan.tax is not None:
        base = apply_taxes(
            plan_goal(spec, snapshot, report, ruled), spec, snapshot, tax, with_impact=False
        )
        if base.tax is not None:
            mine = sum((ln.tax for ln in plan.tax.lines if ln.step not in steps), ZERO)
            plan = replace(plan, tax=replace(plan.tax, deferral_saved=base.tax.tax - mine))
    return shaped, plan


def _with_harvest(plan: Plan, harvest: HarvestResult) -> Plan:
    notes = plan.notes + tuple(harvest.notes)
    if not harvest.trades:
        return replace(plan, notes=notes)
    if plan.no_action:
        notes = (f"rebalance: {plan.no_action_reason}",) + notes
    return replace(
        plan,
        trades=plan.trades + tuple(harvest.trades),
        harvests=tuple(harvest.pairs),
        notes=notes,
        no_action_reason=None,
    )
