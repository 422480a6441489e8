"""Leg state: deterministic client ids, allowed transitions, lossless persistence."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.venues.legs import (
    LegSpec,
    LegState,
    OrderRecord,
    TransitionError,
    check_transition,
    client_order_id,
)
from keeper.venues.types import Fee, OrderState


@given(
    st.text(min_size=1, max_size=80), st.integers(0, 999), st.integers(0, 999), st.integers(0, 99)
)
def test_client_order_id__any_position__fits_every_venue(plan, leg, slice_, attempt):
    cid = client_order_id(plan, leg, slice_, attempt)
    assert re.fullmatch(
        r"[a-z][a-z0-9]{1,31}", cid
    )  # OKX clOrdId; Binance and Alpaca accept it too
    assert cid == client_order_id(plan, leg, slice_, attempt)


def test_client_order_id__different_positions__different_ids():
    ids = {client_order_id("p", leg, s, a) for leg in range(5) for s in range(5) for a in range(5)}
    assert len(ids) == 125


def test_client_order_id__negative_index__refused():
    with pytest.raises(ValueError):
        client_order_id("p", -1, 0, 0)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (OrderState.FILLED, OrderState.CANCELLED),
        (OrderState.CANCELLED, OrderState.ACKNOWLEDGED),
        (OrderState.PARTLY_FILLED, OrderState.ACKNOWLEDGED),
        (OrderState.PLANNED, OrderState.FILLED),
    ],
)
def test_check_transition__backwards_or_skipping_send__refused(old, new):
    with pytest.raises(TransitionError):
        check_transition(old, new)


def test_check_transition__resend_after_proven_absence__allowed():
    check_transition(OrderState.SENT, OrderState.SENT)


def test_leg_spec__float_amount__refused():
    with pytest.raises(TypeError):
        LegSpec("p", 0, "binance", "BTC/USDT", "buy", 0.5)  # type: ignore[arg-type]


decimals = st.decimals(min_value=0, max_value=10**6, places=8)


@given(
    amount=st.decimals(min_value=Decimal("0.00000001"), max_value=10**6, places=8),
    filled=decimals,
    cost=decimals,
    fee=decimals,
    state=st.sampled_from(list(OrderState)),
    worst=st.none() | decimals,
)
def test_leg_state__to_dict_and_back__lossless(amount, filled, cost, fee, state, worst):
    leg = LegState(
        spec=LegSpec("plan", 3, "binance", "BTC/USDT", "sell", amount, 25, worst),
        state=state,
        slices=(amount,),
        orders=[
            OrderRecord(
                "kid",
                0,
                1,
                amount,
                Decimal("1.5"),
                state,
                "99",
                filled,
                cost,
                (Fee("USDT", fee),),
                True,
                2,
                "r",
            )
        ],
        reason="why",
        notes=["n"],
    )
    again = LegState.from_dict(leg.to_dict())
    assert again.to_dict() == leg.to_dict()
    assert again.orders[0].filled == filled and again.spec.worst_price == worst
