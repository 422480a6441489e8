"""The `LegStore` contract, held by the in-memory store and by the SQLite journal alike.

Every check runs against both stores; the same checks are shown catching deliberately broken
stores (one that hands out its own objects, one that forgets which legs are finished).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.store.journal import Journal
from keeper.store.legs import JournalLegStore
from keeper.venues.legs import InMemoryLegStore, LegSpec, LegState, OrderRecord
from keeper.venues.types import Fee, OrderState

D = Decimal


def memory_store():
    return InMemoryLegStore()


def journal_store():
    return JournalLegStore(Journal(":memory:"))


STORES = pytest.mark.parametrize("make", [memory_store, journal_store], ids=["memory", "journal"])


def leg(plan="p", index=0, state=OrderState.PLANNED, venue="binance", **kw):
    return LegState(
        spec=LegSpec(plan, index, venue, "BTC/USDT", "buy", D("0.5"), 25, D("61000.5")),
        state=state,
        **kw,
    )


def order(state=OrderState.ACKNOWLEDGED, filled="0.1"):
    return OrderRecord(
        client_id="kabc0l0s0r0",
        slice_index=0,
        attempt=0,
        amount=D("0.5"),
        limit_price=D("60100.25"),
        state=state,
        venue_order_id="12345",
        filled=D(filled),
        cost=D(filled) * D("60100.25"),
        fees=(Fee("BTC", D("0.0001")),),
        sends=1,
    )


# -- the contract, as plain checks (each raises AssertionError when a store breaks it) ----------


def check_round_trip(store):
    saved = leg(orders=[order()], slices=(D("0.25"), D("0.25")), reason="r", notes=["n1"])
    store.save(saved)
    assert store.load("p", 0).to_dict() == saved.to_dict()


def check_unknown_leg_is_none(store):
    store.save(leg())
    assert store.load("p", 1) is None and store.load("other", 0) is None


def check_save_overwrites(store):
    store.save(leg())
    store.save(leg(state=OrderState.FILLED, orders=[order(OrderState.FILLED, "0.5")]))
    loaded = store.load("p", 0)
    assert loaded.state is OrderState.FILLED and loaded.filled == D("0.5")


def check_plan_legs_by_index(store):
    for index in (10, 2, 1):
        store.save(leg(index=index))
    store.save(leg(plan="other", index=0))
    assert [x.spec.leg_index for x in store.load_plan("p")] == [1, 2, 10]


def check_unfinished_only(store):
    states = [OrderState.FILLED, OrderState.SENT, OrderState.PARTLY_FILLED, OrderState.FAILED]
    for i, state in enumerate(states):
        store.save(leg(index=i, state=state))
    store.save(leg(plan="older", index=0, state=OrderState.ACKNOWLEDGED))
    store.save(leg(plan="older", index=1, state=OrderState.CANCELLED))
    found = sorted((x.spec.plan_id, x.spec.leg_index) for x in store.load_unfinished())
    assert found == [("older", 0), ("p", 1), ("p", 2)]


def check_loaded_copy_is_independent(store):
    store.save(leg(orders=[order()]))
    loaded = store.load("p", 0)
    loaded.reason = "changed"
    loaded.orders[0].filled = D(9)
    again = store.load("p", 0)
    assert again.reason is None and again.orders[0].filled == D("0.1")


CHECKS = [
    check_round_trip,
    check_unknown_leg_is_none,
    check_save_overwrites,
    check_plan_legs_by_index,
    check_unfinished_only,
    check_loaded_copy_is_independent,
]


@STORES
@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__[6:] for c in CHECKS])
def test_leg_store__contract_check__holds(make, check):
    check(make())


decimals = st.decimals(min_value=0, max_value=10**9, places=9)


@settings(max_examples=40, deadline=None)
@given(
    make=st.sampled_from([memory_store, journal_store]),
    amount=st.decimals(min_value=D("0.000000001"), max_value=10**9, places=9),
    filled=decimals,
    fee=decimals,
    state=st.sampled_from(list(OrderState)),
    worst=st.none() | decimals,
    # free text, but no key-like word: the journal scrubs "secret=..." from what it stores
    reason=st.none() | st.text(alphabet="abdfghijlmnoquvwxz ÄΩ0123456789.,:-\n", max_size=40),
)
def test_leg_store__any_leg__saved_and_loaded_losslessly(
    make, amount, filled, fee, state, worst, reason
):
    store = make()
    saved = LegState(
        spec=LegSpec("plan", 3, "alpaca", "SPY", "sell", amount, 5, worst),
        state=state,
        slices=(amount,),
        orders=[
            OrderRecord(
                "kid",
                0,
                1,
                amount,
                D("1.5"),
                state,
                "99",
                filled,
                filled * 2,
                (Fee("USD", fee),),
                True,
                2,
                reason,
            )
        ],
        reason=reason,
    )
    store.save(saved)
    assert store.load("plan", 3).to_dict() == saved.to_dict()
    assert [x.to_dict() for x in store.load_plan("plan")] == [saved.to_dict()]
    assert bool(store.load_unfinished()) is not state.terminal


def test_journal_leg_store__reopened_file__unfinished_legs_still_there(tmp_path):
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    JournalLegStore(journal).save(leg(orders=[order()], state=OrderState.ACKNOWLEDGED))
    journal.close()
    reopened = Journal(path)
    try:
        [found] = JournalLegStore(reopened).load_unfinished()
    finally:
        reopened.close()
    assert found.orders[0].client_id == "kabc0l0s0r0" and found.orders[0].filled == D("0.1")


# -- the checks catch broken stores --------------------------------------------------------------


class SharingStore(InMemoryLegStore):
    """Broken: hands out the stored object itself, so a caller's edit changes the record."""

    def __init__(self):
        super().__init__()
        self.objects = {}

    def save(self, leg):
        self.objects[leg.key] = leg

    def load(self, plan_id, leg_index):
        return self.objects.get((plan_id, leg_index))


class ForgetfulStore(InMemoryLegStore):
    """Broken: reports every leg as unfinished, terminal ones included."""

    def load_unfinished(self):
        return [LegState.from_dict(r) for r in self._rows.values()]


@pytest.mark.parametrize(
    ("broken", "check"),
    [(SharingStore, check_loaded_copy_is_independent), (ForgetfulStore, check_unfinished_only)],
    ids=["sharing", "forgetful"],
)
def test_leg_store__broken_variant__contract_check_fails(broken, check):
    with pytest.raises(AssertionError):
        check(broken())
