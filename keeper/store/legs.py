"""The journal as the venue legs' `LegStore`: every leg state in SQLite, surviving any crash.

This module owns the mapping between `keeper.venues.legs.LegState` (the executor's view) and the
journal's `legs` rows (`Journal.save_leg` and friends: one JSON row per (plan id, leg index),
with its venue, state and whether it is terminal). Each `save` is one committed transaction, so
the executor's "save before every venue request" rule makes the journal the record of intent
that crash recovery reads back (`load_unfinished`). The journal scrubs registered secrets from
the JSON on the way in; a leg holds none anyway (client ids, amounts, prices, fees, reasons).

It adds no policy: what is saved when is the executor's business.
"""

from __future__ import annotations

from keeper.store.journal import Journal
from keeper.venues.legs import LegState


class JournalLegStore:
    """A `LegStore` over a `Journal`. Loads return fresh objects: mutating one changes nothing
    stored until it is saved again."""

    def __init__(self, journal: Journal):
        self.journal = journal

    def save(self, leg: LegState) -> None:
        spec = leg.spec
        self.journal.save_leg(
            spec.plan_id,
            spec.leg_index,
            spec.venue,
            leg.state.value,
            leg.state.terminal,
            leg.to_dict(),
        )

    def load(self, plan_id: str, leg_index: int) -> LegState | None:
        row = self.journal.load_leg(plan_id, leg_index)
        return None if row is None else LegState.from_dict(row)

    def load_plan(self, plan_id: str) -> list[LegState]:
        return [LegState.from_dict(row) for row in self.journal.load_plan_legs(plan_id)]

    def load_unfinished(self) -> list[LegState]:
        return [LegState.from_dict(row) for row in self.journal.load_unfinished_legs()]
