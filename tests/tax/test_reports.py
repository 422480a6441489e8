"""Year reports by category and the Form 8949 CSV."""

from decimal import Decimal

import pytest
from tax_helpers import buy, sell

from keeper.errors import ConfigError
from keeper.tax.jurisdictions import de_profile, us_profile
from keeper.tax.ledger import replay
from keeper.tax.model import AssetKind, TaxCategory
from keeper.tax.reports import form_8949_csv, form_8949_rows, year_report

US = us_profile()


def history():
    return replay(
        [
            buy("b1", "2022-05-02", "X", 10, 1000),
            buy("b2", "2024-01-10", "X", 10, 2000),
            sell("s1", "2024-06-03", "X", 10, 2500),  # FIFO: b1, long-term +1,500
            sell("s2", "2024-07-01", "X", 5, 600),  # b2, short-term -400
            sell("s3", "2025-02-03", "X", 5, 900),  # next year
        ],
        US,
    ).realised


def test_year_report__us_2024__categories_netting_and_estimate():
    report = year_report(history(), US, 2024)
    totals = {c.category: (c.count, c.gain) for c in report.categories}
    assert totals == {
        TaxCategory.LONG_TERM: (1, Decimal(1500)),
        TaxCategory.SHORT_TERM: (1, Decimal(-400)),
    }
    assert report.net_gain == Decimal(1100)
    assert report.estimated_tax == Decimal(1100) * Decimal("0.15")  # short loss nets the long gain
    assert report.period == ("2024-01-01", "2024-12-31")


def test_form_8949_csv__parts_ordered_and_money_two_decimals():
    text = form_8949_csv(form_8949_rows(history(), US, 2024))
    assert text.splitlines() == [
        "part,description,date_acquired,date_sold,proceeds,cost_basis,code,adjustment,gain_or_loss",
        "I,5 X,01/10/2024,07/01/2024,600.00,1000.00,,,-400.00",
        "II,10 X,05/02/2022,06/03/2024,2500.00,1000.00,,,1500.00",
    ]


def test_form_8949_rows__non_us_profile__refused():
    with pytest.raises(ConfigError, match="Form 8949 is a US form"):
        form_8949_rows(history(), de_profile(), 2024)


def test_year_report__de_crypto__exempt_and_private_sales_apart():
    de = de_profile()
    realised = replay(
        [
            buy("b1", "2022-01-03", "BTC", 2, 20000, kind=AssetKind.CRYPTO),
            buy("b2", "2024-02-01", "BTC", 1, 40000, kind=AssetKind.CRYPTO),
            sell("s1", "2024-06-03", "BTC", 3, 180000, kind=AssetKind.CRYPTO),
        ],
        de,
    ).realised
    report = year_report(realised, de, 2024)
    totals = {c.category: c.gain for c in report.categories}
    assert totals == {TaxCategory.EXEMPT: Decimal(100000), TaxCategory.PRIVATE_SALE: Decimal(20000)}
    assert report.estimated_tax == Decimal(20000) * Decimal("0.42")
