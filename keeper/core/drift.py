"""Drift: how far each asset and class is from its target, how bad that is, and how soon to act.

For every asset and class: target, current weight, drift in percentage points and in USD, the
status of seed 000's drift monitor and a priority with its action timeline:

d = |value - target| in USD; s, h = the soft and hard half-widths in USD.

| status                  | rule                                                  | priority |
|-------------------------|-------------------------------------------------------|----------|
| within range        ✓   | d <= 0.9 s                                            | low      |
| approaching         !   | 0.9 s < d <= s  ("over 90% of the soft band")         | medium   |
| soft limit exceeded !!  | s < d <= h                                            | high     |
| hard limit exceeded !!! | d > h                                                 | critical |
| unpriced            ?   | a holding of the asset has no usable price or balance | high     |

A limit is *exceeded* only strictly past it: seed 000's "BTC $20,000 +-10%, rebalance at $22,000"
reads as "$22,000 is the edge"; $22,000.01 is past it. Priorities: critical = act now, high =
within 24 hours, medium = within a week, low = at the next scheduled rebalance. An unpriced asset
is high: nothing can be decided about it until someone fixes its price source.

Unpriced assets are *blocked*: their value is unknown, so weights are computed over the rest.
(An empty holding whose price is missing does not block: it is worth $0 either way; the planner
just cannot buy into it.)
The basis is the priced value of the unblocked assets, scaled up by the share of the targets they
carry (`total_usd = basis_usd / (1 - sum of blocked targets)`), which is exact for the rest of
the portfolio whatever the blocked assets are worth. Never compute weights over a total that
silently leaves out an unknown holding: that would make every other asset look overweight.

This module must not do I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import Enum, IntEnum

from keeper.core.portfolio import Snapshot
from keeper.core.spec import Band, PortfolioSpec
from keeper.errors import ConfigError
from keeper.money import MONEY_CONTEXT

ZERO = Decimal(0)
APPROACH = Decimal("0.9")


class Status(str, Enum):
    WITHIN = "within range"
    APPROACHING = "approaching"
    SOFT = "soft limit exceeded"
    HARD = "hard limit exceeded"
    UNPRICED = "unpriced"

    @property
    def marker(self) -> str:
        return _MARKERS[self]

    @property
    def out_of_band(self) -> bool:
        return self in (Status.SOFT, Status.HARD)


_MARKERS = {
    Status.WITHIN: "✓",
    Status.APPROACHING: "!",
    Status.SOFT: "!!",
    Status.HARD: "!!!",
    Status.UNPRICED: "?",
}


class Priority(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @property
    def marker(self) -> str:
        return "[" + "!" * int(self) + "]"

    @property
    def timeline(self) -> str:
        return _TIMELINE[self]


_TIMELINE = {
    Priority.CRITICAL: "Immediate",
    Priority.HIGH: "24 Hours",
    Priority.MEDIUM: "1 Week",
    Priority.LOW: "Next scheduled rebalance",
}

_PRIORITY = {
    Status.WITHIN: Priority.LOW,
    Status.APPROACHING: Priority.MEDIUM,
    Status.SOFT: Priority.HIGH,
    Status.HARD: Priority.CRITICAL,
    Status.UNPRICED: Priority.HIGH,
}


def classify(deviation_usd: Decimal, soft_usd: Decimal, hard_usd: Decimal) -> Status:
    """The seed-000 status of a deviation (signed USD) against soft and hard widths (USD)."""
    d = abs(deviation_usd)
    if d > hard_usd:
        return Status.HARD
    if d > soft_usd:
        return Status.SOFT
    if d > APPROACH * soft_usd:
        return Status.APPROACHING
    return Status.WITHIN


@dataclass(frozen=True, slots=True)
class DriftRow:
    """One asset or class. Fractions are of the whole portfolio (0.25 = 25%); USD is exact.

    For a blocked (unpriced) row, `value_usd`, `current` and the widths are None and `reason`
    says why.
    """

    name: str
    label: str
    asset_class: str
    target: Decimal
    band: Band
    status: Status
    value_usd: Decimal | None = None
    target_usd: Decimal | None = None
    soft_usd: Decimal | None = None
    hard_usd: Decimal | None = None
    current: Decimal | None = None
    reason: str | None = None

    @property
    def priority(self) -> Priority:
        return _PRIORITY[self.status]

    @property
    def blocked(self) -> bool:
        return self.status is Status.UNPRICED

    @property
    def drift_usd(self) -> Decimal | None:
        """Signed: positive when overweight."""
        if self.value_usd is None or self.target_usd is None:
            return None
        return self.value_usd - self.target_usd

    @property
    def drift_pp(self) -> Decimal | None:
        """Signed drift in fractions of the portfolio (0.03 = +3 percentage points)."""
        if self.current is None:
            return None
        return self.current - self.target

    @property
    def band_use(self) -> Decimal | None:
        """|drift| as a fraction of the soft width (1 = at the soft edge)."""
        d = self.drift_usd
        if d is None or self.soft_usd is None:
            return None
        if self.soft_usd == 0:
            return ZERO if d == 0 else Decimal("Infinity")
        return abs(d) / self.soft_usd


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift of every asset and class of a snapshot against a spec.

    `total_usd` is the portfolio value the weights are computed against (see the module doc for
    blocked assets); `basis_usd` the priced value of the unblocked assets; `excluded_usd` the priced
    value sitting in blocked assets (not counted, shown to the operator).
    """

    total_usd: Decimal
    basis_usd: Decimal
    excluded_usd: Decimal
    assets: tuple[DriftRow, ...]
    classes: tuple[DriftRow, ...]
    taken_at: int

    def asset(self, name: str) -> DriftRow:
        for row in self.assets:
            if row.name == name:
                return row
        raise KeyError(name)

    def asset_class(self, name: str) -> DriftRow:
        for row in self.classes:
            if row.name == name:
                return row
        raise KeyError(name)

    def blocked(self) -> tuple[DriftRow, ...]:
        return tuple(r for r in self.assets if r.blocked)

    def timeline(self, rows: Iterable[DriftRow] | None = None) -> dict[Priority, tuple[str, ...]]:
        """Names of the rows per priority, most urgent first (seed 000's action timeline)."""
        source = self.classes + self.assets if rows is None else tuple(rows)
        return {
            p: tuple(r.label for r in source if r.priority is p)
            for p in sorted(Priority, reverse=True)
        }

    def worst(self) -> Priority:
        return max((r.priority for r in self.assets + self.classes), default=Priority.LOW)


def compute_drift(spec: PortfolioSpec, snapshot: Snapshot) -> DriftReport:
    """Drift of `snapshot` against `spec`. Pure; exact Decimal arithmetic.

    Raises ConfigError when the snapshot holds a position the spec does not declare (a reader and
    its config disagree: deciding anything then would be guessing).
    """
    with localcontext(MONEY_CONTEXT):
        values: dict[str, Decimal] = {a.name: ZERO for a in spec.assets}
        blocked: dict[str, str] = {}
        seen: set[str] = set()
        for p in snapshot.positions:
            declared = spec.holding(p.holding)
            if declared is None or declared.asset != p.asset or not spec.has_asset(p.asset):
                raise ConfigError(
                    f"snapshot position {p.holding!r} (asset {p.asset!r}) is not a holding "
                    "keeper.yaml declares: add it to the asset's holdings or fix the reader"
                )
            seen.add(p.holding)
            if p.value_usd is not None:
                values[p.asset] += p.value_usd
            elif not p.value_known:
                blocked.setdefault(p.asset, f"{p.holding}: {p.unpriced_reason}")
            # else: an empty holding without a price is worth $0 and only cannot be bought into
        for h in spec.holdings:
            if h.id not in seen:
                blocked.setdefault(h.asset, f"{h.id}: missing from the snapshot")

        blocked_target = sum((spec.asset(a).target for a in blocked), ZERO)
        basis_weight = 1 - blocked_target
        basis = sum((v for a, v in values.items() if a not in blocked), ZERO)
        excluded = sum((v for a, v in values.items() if a in blocked), ZERO)
        total = basis / basis_weight if basis_weight > 0 else ZERO

        asset_rows = tuple(
            _row(
                a.name,
                a.name,
                a.asset_class,
                a.target,
                a.band,
                values[a.name],
                total,
                blocked.get(a.name),
            )
            for a in spec.assets
        )
        class_rows = []
        for c in spec.classes:
            reasons = [blocked[a] for a in c.assets if a in blocked]
            value = sum((values[a] for a in c.assets), ZERO)
            class_rows.append(
                _row(
                    c.name,
                    c.label,
                    c.name,
                    c.target,
                    c.band,
                    value,
                    total,
                    reasons[0] if reasons else None,
                )
            )
        return DriftReport(
            total_usd=total,
            basis_usd=basis,
            excluded_usd=excluded,
            assets=asset_rows,
            classes=tuple(class_rows),
            taken_at=snapshot.taken_at,
        )


def _row(
    name: str,
    label: str,
    asset_class: str,
    target: Decimal,
    band: Band,
    value: Decimal,
    total: Decimal,
    blocked_reason: str | None,
) -> DriftRow:
    if blocked_reason is not None or total <= 0:
        reason = blocked_reason or "portfolio has no priced value"
        return DriftRow(name, label, asset_class, target, band, Status.UNPRICED, reason=reason)
    target_usd = target * total
    soft, hard = band.widths_usd(target_usd, total)
    return DriftRow(
        name=name,
        label=label,
        asset_class=asset_class,
        target=target,
        band=band,
        status=classify(value - target_usd, soft, hard),
        value_usd=value,
        target_usd=target_usd,
        soft_usd=soft,
        hard_usd=hard,
        current=value / total,
    )
