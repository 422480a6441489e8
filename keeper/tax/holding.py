"""Holding periods: when a lot turns long-term (US) or tax-exempt (DE crypto, EU option).

This module owns calendar arithmetic only. Both rules it serves count in calendar months, not in
365-day blocks, and both are "more than one year":

- US (Pub. 550, "Holding Period"): start counting on the day after acquisition; the day of sale
  is part of the holding period. Bought on 1 Jan 2005 and sold on 1 Jan 2006 is short-term; sold
  on 2 Jan 2006 it is long-term. An asset bought on the last day of a month completes a holding
  month on the last day of later months (J.K. Lasser, "Counting the Months").
- DE (§23 Abs. 1 Satz 1 Nr. 2 EStG, "nicht mehr als ein Jahr"; period per §108 AO with
  §§187(1), 188(2),(3) BGB): the period starts the day after acquisition and ends at the end of
  the same calendar date a year later (the last day of the month when that date does not exist).
  Bought on 1 January, a sale is tax-free from 2 January of the following year.

So both reduce to: favourable iff the sale's local date is after `one_year_after(acquired)`. The
one place they differ is an acquisition on the last day of a short month (28 Feb 2023): the US
month count ends holding months on later month ends (29 Feb 2024), §188(2) BGB on the day with
the same number (28 Feb 2024); `month_end_sticky` selects the rule.
Dates are taken in the taxpayer's time zone (the profile's `timezone`), since a trade at 23:30 in
New York is a UTC date later. Nothing here does I/O.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date of `moment` in the IANA time zone `timezone`."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(_zone(timezone)).date()


def add_months(day: date, months: int, *, month_end_sticky: bool = False) -> date:
    """The same day-of-month `months` later, clamped to the target month's last day.

    31 Jan + 1 month is 28 (or 29) Feb under both rules (§188(3) BGB; the US month count). With
    `month_end_sticky`, a date that is its month's last day maps to the target month's last day
    (the US rule for assets bought on a month end).
    """
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if month_end_sticky and day.day == calendar.monthrange(day.year, day.month)[1]:
        return date(year, month, last)
    return date(year, month, min(day.day, last))


def one_year_after(acquired: date, months: int = 12, *, month_end_sticky: bool = False) -> date:
    """The last day that is still within `months` of holding (the anniversary)."""
    return add_months(acquired, months, month_end_sticky=month_end_sticky)


def held_more_than(
    acquired: date, sold: date, months: int = 12, *, month_end_sticky: bool = False
) -> bool:
    """True when the holding from `acquired` to `sold` is more than `months` calendar months."""
    return sold > one_year_after(acquired, months, month_end_sticky=month_end_sticky)


def first_favourable_day(
    acquired: date, months: int = 12, *, month_end_sticky: bool = False
) -> date:
    """The first sale date that counts as held more than `months` months."""
    return one_year_after(acquired, months, month_end_sticky=month_end_sticky) + timedelta(days=1)


def days_until_more_than(
    acquired: date, today: date, months: int = 12, *, month_end_sticky: bool = False
) -> int:
    """Days from `today` until a sale would count as held more than `months` (0 if already)."""
    return max(
        0, (first_favourable_day(acquired, months, month_end_sticky=month_end_sticky) - today).days
    )
