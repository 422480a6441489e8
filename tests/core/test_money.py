from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.money import TokenAmount, to_decimal, to_raw


def test_to_raw__fractional_below_unit__rounds_down():
    assert to_raw("1.0000009", 6) == 1_000_000


def test_to_raw__float__refused():
    with pytest.raises(TypeError):
        to_raw(1.5, 18)


@given(st.integers(min_value=0, max_value=2**256 - 1), st.integers(min_value=0, max_value=36))
def test_roundtrip__any_raw_amount__exact(raw, decimals):
    assert to_raw(to_decimal(raw, decimals), decimals) == raw


def test_token_amount__value__exact_decimal():
    amount = TokenAmount.of("2.5", 8)
    assert amount.raw == 250_000_000
    assert amount.value(Decimal("60000.12")) == Decimal("150000.30")


def test_token_amount__mixed_decimals__refused():
    with pytest.raises(ValueError):
        TokenAmount(1, 6) + TokenAmount(1, 18)
