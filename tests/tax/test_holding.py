"""Holding periods in calendar months: "more than one year" in the US and in Germany."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from tax_helpers import at

from keeper.tax.holding import add_months, days_until_more_than, held_more_than, local_date
from keeper.tax.jurisdictions import de_profile, us_profile
from keeper.tax.model import AssetKind, TaxCategory


def test_held_more_than__us_pub550_example__one_year_is_short_one_year_and_a_day_long():
    # IRS Pub. 550 / The Motley Fool: bought 1 Jan 2005, sold 1 Jan 2006: one year or less
    # (short-term); sold 2 Jan 2006: more than one year (long-term).
    assert not held_more_than(date(2005, 1, 1), date(2006, 1, 1))
    assert held_more_than(date(2005, 1, 1), date(2006, 1, 2))


def test_held_more_than__lasser_september_example__long_term_from_september_20():
    # J.K. Lasser, "Counting the Months in Your Holding Period": bought 19 Sep 2012, a sale on
    # or after 20 Sep 2013 is long-term.
    assert not held_more_than(date(2012, 9, 19), date(2013, 9, 19))
    assert held_more_than(date(2012, 9, 19), date(2013, 9, 20))


def test_add_months__month_end__us_rule_sticks_to_month_end_bgb_does_not():
    # US: an asset bought on a month's last day completes months on later month ends (Lasser);
    # §188(2) BGB: the day with the same number, clamped by §188(3) where it does not exist.
    assert add_months(date(2023, 2, 28), 12, month_end_sticky=True) == date(2024, 2, 29)
    assert add_months(date(2023, 2, 28), 12) == date(2024, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def test_days_until_more_than__bought_a_year_ago_minus_ten_days__eleven_days():
    assert days_until_more_than(date(2023, 6, 11), date(2024, 6, 1)) == 11
    assert days_until_more_than(date(2020, 1, 1), date(2024, 6, 1)) == 0


def test_local_date__late_evening_trade_in_new_york__counts_new_york_date():
    # A trade at 23:30 in New York is 04:30 UTC the next day; the taxpayer's date counts.
    moment = at("2024-03-15").replace(hour=3, minute=30)  # 03:30 UTC = 23:30 EDT on 14 March
    assert local_date(moment, "America/New_York") == date(2024, 3, 14)
    us = us_profile()
    bought = at("2023-03-14").replace(hour=15)
    assert us.category(AssetKind.SECURITY, bought, moment) is TaxCategory.SHORT_TERM


@given(
    st.dates(min_value=date(2019, 1, 1), max_value=date(2026, 12, 31)),
    st.integers(min_value=0, max_value=800),
    st.integers(min_value=0, max_value=23),
    st.sampled_from(["us", "de"]),
)
def test_long_boundary__any_dates__agrees_with_category(bought, days, hour, code):
    # The one-comparison boundary used to rank thousands of lots must classify exactly as the
    # calendar rule does, around month ends, leap days and time zones.
    profile = us_profile() if code == "us" else de_profile()
    kind = AssetKind.SECURITY if code == "us" else AssetKind.CRYPTO
    acquired = at(bought.isoformat()).replace(hour=hour)
    sold = acquired + timedelta(days=days)
    boundary = profile.long_boundary(kind, sold)
    by_boundary = acquired < boundary
    assert by_boundary == (profile.category(kind, acquired, sold) is profile.rules(kind).after)
