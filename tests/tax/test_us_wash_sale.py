"""US wash sales (IRC §1091) from the rule's own worked examples, each with its source."""

from decimal import Decimal

from tax_helpers import at, buy, sell

from keeper.tax.jurisdictions import us_profile
from keeper.tax.ledger import replay
from keeper.tax.model import AssetKind, TaxCategory
from keeper.tax.reports import form_8949_rows
from keeper.tax.wash_sale import wash_sale_block

US = us_profile()


def test_wash_sale__irs_vita_case_study__loss_moves_into_replacement_basis():
    # Source: IRS VITA "Capital Gain or Loss Workout", Holding Period, Case Study 1: Wash Sales.
    # "buys 100 shares of X stock for $1,000 ... sells these shares for $750 and within 30 days
    # from the sale buys 100 shares of the same stock for $800 ... cannot deduct the loss of $250
    # ... adds the disallowed loss of $250 to the cost of the new stock, $800 ... basis in the new
    # stock, which is $1,050."
    result = replay(
        [
            buy("b1", "2024-01-02", "X", 100, 1000),
            sell("s1", "2024-03-01", "X", 100, 750),
            buy("b2", "2024-03-15", "X", 100, 800),
        ],
        US,
    )
    (loss,) = result.realised
    assert loss.proceeds - loss.cost_basis == Decimal(-250)
    assert loss.wash_disallowed == Decimal(250)
    assert loss.gain == 0  # Form 8949 column (h): the disallowed loss is not deducted now
    (replacement,) = result.lots
    assert replacement.quantity_raw == 100
    assert replacement.cost_basis == Decimal(1050)


def test_wash_sale__shares_bought_within_30_days_before_kept__loss_disallowed_basis_60():
    # Source: advisors4advisors, "Wash Sales And The 30-Day Rule" (quoting IRC §1091(a)):
    # buy 200 shares at $50 on March 1, sell 100 at $40 on March 20: the $1,000 loss is not
    # allowed because the other 100 were bought within 30 days; "your basis in the remaining 100
    # shares is $60 per share, or $6,000."
    result = replay(
        [buy("b1", "2011-03-01", "A", 200, 10000), sell("s1", "2011-03-20", "A", 100, 4000)], US
    )
    (loss,) = result.realised
    assert loss.wash_disallowed == Decimal(1000)
    assert sum(lot.cost_basis for lot in result.lots) == Decimal(6000)
    assert sum(lot.quantity_raw for lot in result.lots) == 100


def test_wash_sale__sold_150_of_200__wash_on_50_shares_only():
    # Same source: "What if you sold 150 shares? You would have a wash sale to the extent of 50
    # shares. The basis in your remaining 50 shares would be $60 per share."
    result = replay(
        [buy("b1", "2011-03-01", "A", 200, 10000), sell("s1", "2011-03-20", "A", 150, 6000)], US
    )
    (loss,) = result.realised
    assert loss.proceeds - loss.cost_basis == Decimal(-1500)
    assert loss.wash_disallowed == Decimal(500)
    assert loss.gain == Decimal(-1000)  # deductible part
    (left,) = result.lots
    assert (left.quantity_raw, left.cost_basis) == (50, Decimal(3000))


def test_wash_sale__sold_all_200_and_no_rebuy__loss_deductible():
    # Same source: sold all 200 and not replaced within 30 days: "You could deduct the loss."
    result = replay(
        [buy("b1", "2011-03-01", "A", 200, 10000), sell("s1", "2011-03-20", "A", 200, 8000)], US
    )
    (loss,) = result.realised
    assert loss.wash_disallowed == 0
    assert loss.gain == Decimal(-2000)
    assert result.lots == ()


def test_wash_sale__fund_rebought_19_days_later__basis_9_and_holding_period_tacked():
    # Same source, "Ending 30 days after": 500 shares of fund B held 2 years at $10, all sold at
    # $5 on April 1; 500 bought at $4 on April 19: the entire loss is disallowed and the new
    # basis is $9 per share. IRC §1223(3): the new shares' holding period includes the old one,
    # so selling them a month later is long-term.
    result = replay(
        [
            buy("b0", "2009-03-25", "B", 500, 5000),
            sell("s1", "2011-04-01", "B", 500, 2500),
            buy("b1", "2011-04-19", "B", 500, 2000),
            sell("s2", "2011-05-20", "B", 500, 2250),
        ],
        US,
    )
    first, second = result.realised
    assert first.wash_disallowed == Decimal(2500) and first.gain == 0
    assert second.cost_basis == Decimal(4500)  # $9 per share
    assert second.category is TaxCategory.LONG_TERM
    assert second.gain == Decimal(-2250)


def test_wash_sale__rebuy_on_day_31__not_a_wash_sale():
    # IRC §1091(a): the window ends 30 days after the sale (61 days in all).
    result = replay(
        [
            buy("b1", "2024-01-02", "X", 100, 1000),
            sell("s1", "2024-03-01", "X", 100, 750),
            buy("b2", "2024-04-01", "X", 100, 800),  # 31 days later (2024 is a leap year)
        ],
        US,
    )
    assert result.realised[0].wash_disallowed == 0
    assert result.lots[0].cost_basis == Decimal(800)


def test_wash_sale__rebuy_on_day_30__wash_sale():
    result = replay(
        [
            buy("b1", "2024-01-02", "X", 100, 1000),
            sell("s1", "2024-03-01", "X", 100, 750),
            buy("b2", "2024-03-31", "X", 100, 800),
        ],
        US,
    )
    assert result.realised[0].wash_disallowed == Decimal(250)


def test_wash_sale__fewer_replacement_shares__loss_disallowed_in_proportion():
    # Pub. 550: if the number of shares bought is less than the number sold, the loss is
    # disallowed only for the shares replaced.
    result = replay(
        [
            buy("b1", "2024-01-02", "X", 100, 1000),
            sell("s1", "2024-03-01", "X", 100, 750),
            buy("b2", "2024-03-10", "X", 40, 320),
        ],
        US,
    )
    (loss,) = result.realised
    assert loss.wash_disallowed == Decimal(100)  # 40 / 100 of the $250 loss
    assert loss.gain == Decimal(-150)
    assert result.lots[0].cost_basis == Decimal(420)


def test_wash_sale__one_replacement_two_loss_sales__replacement_absorbs_one_loss_only():
    result = replay(
        [
            buy("b1", "2024-01-02", "X", 100, 1000),
            buy("b2", "2024-01-03", "X", 100, 1000),
            sell("s1", "2024-03-01", "X", 100, 750, lot_id="b1"),
            sell("s2", "2024-03-02", "X", 100, 740, lot_id="b2"),
            buy("b3", "2024-03-10", "X", 100, 800),
        ],
        US,
    )
    first, second = result.realised
    assert first.wash_disallowed == Decimal(250)
    assert second.wash_disallowed == 0
    assert result.lots[0].cost_basis == Decimal(1050)


def test_wash_sale__crypto_under_current_law__not_a_wash_sale():
    # IRS Notice 2014-21: virtual currency is property, not stock or securities, which is what
    # §1091 reaches (National Law Review, 11 Jul 2023, on the unenacted 2021 extension).
    events = [
        buy("b1", "2024-01-02", "ETH", 100, 1000, kind=AssetKind.CRYPTO),
        sell("s1", "2024-03-01", "ETH", 100, 750, kind=AssetKind.CRYPTO),
        buy("b2", "2024-03-15", "ETH", 100, 800, kind=AssetKind.CRYPTO),
    ]
    assert replay(events, US).realised[0].wash_disallowed == 0
    assert replay(events, us_profile(crypto_wash_sale=True)).realised[0].wash_disallowed == Decimal(
        250
    )


def test_wash_sale__substantially_identical_group__other_ticker_is_a_replacement():
    result = replay(
        [
            buy("b1", "2024-01-02", "SPY", 100, 1000),
            sell("s1", "2024-03-01", "SPY", 100, 750),
            buy("b2", "2024-03-05", "SPLG", 100, 800),
        ],
        US,
        identical={"SPY": "sp500", "SPLG": "sp500"},
    )
    assert result.realised[0].wash_disallowed == Decimal(250)
    assert result.lots[0].asset == "SPLG" and result.lots[0].cost_basis == Decimal(1050)


def test_form_8949__wash_sale_row__code_w_and_positive_adjustment():
    # Instructions for Form 8949: enter "W" in column (f) and the disallowed loss as a positive
    # number in column (g); (h) = (d) - (e) + (g).
    result = replay(
        [
            buy("b1", "2024-01-02", "X", 100, 1000),
            sell("s1", "2024-03-01", "X", 100, 750),
            buy("b2", "2024-03-15", "X", 100, 800),
        ],
        US,
    )
    (row,) = form_8949_rows(result.realised, US, 2024)
    assert (row.part, row.code, row.adjustment, row.gain) == (
        "I",
        "W",
        Decimal("250.00"),
        Decimal("0.00"),
    )
    assert (row.date_acquired, row.date_sold, row.description) == (
        "01/02/2024",
        "03/01/2024",
        "100 X",
    )


def test_wash_sale_block__loss_sale_10_days_ago__buy_blocked_until_day_31():
    history = replay(
        [buy("b1", "2024-01-02", "QQQ", 10, 4000), sell("s1", "2024-03-01", "QQQ", 10, 3500)], US
    ).realised
    decision = wash_sale_block("QQQ", AssetKind.SECURITY, at("2024-03-11"), history, US)
    assert not decision.allowed
    assert decision.blocked_until.isoformat() == "2024-04-01"


def test_wash_sale_block__substitute_configured__buys_substitute_instead():
    # Seed 000: "Check similar ETFs", "Keep sector exposure"; VGT tracks a different index than
    # QQQ, so it is not substantially identical.
    history = replay(
        [buy("b1", "2024-01-02", "QQQ", 10, 4000), sell("s1", "2024-03-01", "QQQ", 10, 3500)], US
    ).realised
    decision = wash_sale_block(
        "QQQ", AssetKind.SECURITY, at("2024-03-11"), history, US, substitutes={"QQQ": "VGT"}
    )
    assert decision.allowed and decision.asset == "VGT" and decision.requested == "QQQ"


def test_wash_sale_block__after_window_or_gain_sale__allowed():
    history = replay(
        [buy("b1", "2024-01-02", "QQQ", 10, 4000), sell("s1", "2024-03-01", "QQQ", 10, 3500)], US
    ).realised
    assert wash_sale_block("QQQ", AssetKind.SECURITY, at("2024-04-01"), history, US).allowed
    gains = replay(
        [buy("b1", "2024-01-02", "QQQ", 10, 4000), sell("s1", "2024-03-01", "QQQ", 10, 4500)], US
    ).realised
    assert wash_sale_block("QQQ", AssetKind.SECURITY, at("2024-03-11"), gains, US).allowed


def test_wash_sale_block__crypto_in_us__allowed():
    history = replay(
        [
            buy("b1", "2024-01-02", "SOL", 10, 4000, kind=AssetKind.CRYPTO),
            sell("s1", "2024-03-01", "SOL", 10, 3500, kind=AssetKind.CRYPTO),
        ],
        US,
    ).realised
    assert wash_sale_block("SOL", AssetKind.CRYPTO, at("2024-03-02"), history, US).allowed
