"""Lot selection: the order each method takes lots in, and the refusals."""

from decimal import Decimal

import pytest
from tax_helpers import at, lot

from keeper.errors import ConfigError
from keeper.tax.estimate import estimate_sale_tax
from keeper.tax.jurisdictions import eu_profile, us_profile
from keeper.tax.model import AssetKind, LotPolicy
from keeper.tax.selection import apply_disposal, select_for_rebalance, select_lots

US = us_profile()
WHEN = at("2024-06-03")
# cost per share: 10 (long-term), 30 (short-term), 20 (long-term), 50 (short-term, at a loss at 40)
BOOK = [
    lot("old", "X", 10, 100, "2022-01-03"),
    lot("mid", "X", 10, 300, "2024-01-05"),
    lot("lt20", "X", 10, 200, "2023-02-01"),
    lot("new", "X", 10, 500, "2024-05-01"),
]


def order(policy: LotPolicy, qty: int = 40, price: str = "40") -> list[str]:
    disposal = select_lots(
        BOOK, "X", qty, policy=policy, profile=US, when=WHEN, price=Decimal(price)
    )
    return [m.lot.lot_id for m in disposal.matches]


def test_select_lots__fifo_lifo_hifo__acquisition_and_cost_orders():
    assert order(LotPolicy.FIFO) == ["old", "lt20", "mid", "new"]
    assert order(LotPolicy.LIFO) == ["new", "mid", "lt20", "old"]
    assert order(LotPolicy.HIFO) == ["new", "mid", "lt20", "old"]


def test_select_lots__tax_min__losses_first_then_long_term_gains_before_short_term():
    # At 40: "new" is a loss; "lt20" and "old" long-term gains (15%); "mid" short-term (24%).
    # Tax per share: new -2.40, lt20 +3.00, mid +2.40, old +4.50; losses first, then the
    # smallest tax per share.
    assert order(LotPolicy.TAX_MIN, qty=10) == ["new"]
    assert order(LotPolicy.TAX_MIN) == ["new", "mid", "lt20", "old"]


def test_select_lots__tax_min_equal_gains__long_term_before_short_term():
    book = [lot("st", "Y", 10, 100, "2024-03-01"), lot("lt", "Y", 10, 100, "2022-03-01")]
    flat = us_profile(short_term_rate=Decimal("0.15"), long_term_rate=Decimal("0.15"))
    disposal = select_lots(
        book, "Y", 10, policy=LotPolicy.TAX_MIN, profile=flat, when=WHEN, price=Decimal(20)
    )
    assert disposal.matches[0].lot.lot_id == "lt"


def test_select_lots__partial_lot__basis_pro_rata_and_rest_kept():
    disposal = select_lots(
        BOOK, "X", 15, policy=LotPolicy.FIFO, profile=US, when=WHEN, price=Decimal(40)
    )
    assert [(m.lot.lot_id, m.quantity_raw, m.lot.cost_basis) for m in disposal.matches] == [
        ("old", 10, Decimal(100)),
        ("lt20", 5, Decimal(100)),
    ]
    left = apply_disposal(BOOK, disposal)
    assert [(x.lot_id, x.quantity_raw, x.cost_basis) for x in left] == [
        ("mid", 10, Decimal(300)),
        ("lt20", 5, Decimal(100)),
        ("new", 10, Decimal(500)),
    ]
    assert sum(m.proceeds for m in disposal.matches) == Decimal(600)


def test_select_lots__more_than_held__one_line_error_naming_the_fix():
    with pytest.raises(
        ConfigError, match=r"sell X: 41 exceeds the 40 held in lots; import the missing"
    ):
        select_lots(BOOK, "X", 41, policy=LotPolicy.FIFO, profile=US, when=WHEN, price=Decimal(1))


def test_select_lots__unknown_asset_or_account__error_names_it():
    with pytest.raises(ConfigError, match="sell Z: no lots held"):
        select_lots(BOOK, "Z", 1, policy=None, profile=US, when=WHEN, price=Decimal(1))
    with pytest.raises(ConfigError, match="sell X in other: no lots held"):
        select_lots(
            BOOK, "X", 1, policy=None, profile=US, when=WHEN, price=Decimal(1), account="other"
        )


def test_select_lots__average_cost__every_lot_pro_rata_quantities_exact():
    eu = eu_profile(method=LotPolicy.AVERAGE)
    book = [
        lot("a", "T", 3, 30, "2024-01-01", kind=AssetKind.CRYPTO),
        lot("b", "T", 7, 140, "2024-02-01", kind=AssetKind.CRYPTO),
    ]
    disposal = select_lots(book, "T", 5, policy=None, profile=eu, when=WHEN, price=Decimal(20))
    assert sum(m.quantity_raw for m in disposal.matches) == 5
    assert disposal.cost_basis == sum(m.lot.cost_basis for m in disposal.matches)
    # 5 of 10 units at an average of 17 -> about 85 of basis
    assert abs(disposal.cost_basis - 85) <= 20


def test_select_for_rebalance__many_assets__one_disposal_each():
    book = BOOK + [lot("y1", "Y", 5, 50, "2024-01-01")]
    disposals = select_for_rebalance(
        book,
        {"X": (12, Decimal(40)), "Y": (5, Decimal(9))},
        profile=US,
        when=WHEN,
        policy=LotPolicy.HIFO,
    )
    assert {a: d.quantity_raw for a, d in disposals.items()} == {"X": 12, "Y": 5}
    assert disposals["X"].matches[0].lot.lot_id == "new"


def test_estimate_sale_tax__recent_purchase_kept__loss_reported_as_deferred():
    # Selling the loss lot while shares bought 3 days before stay held washes the loss (§1091).
    book = [lot("loss", "Q", 10, 500, "2024-01-02"), lot("recent", "Q", 10, 390, "2024-05-31")]
    disposal = select_lots(
        book, "Q", 10, policy=LotPolicy.FIFO, profile=US, when=WHEN, price=Decimal(40)
    )
    estimate = estimate_sale_tax(disposal, US, remaining=apply_disposal(book, disposal))
    assert estimate.deferred_loss == Decimal(100)
    assert estimate.tax == 0
