from datetime import UTC, datetime

import pytest

from keeper.config.schedule import parse_schedule
from keeper.core.spec import Cadence

UTC = UTC


def test_weekly_phrase__new_york__next_monday_9am_local_across_dst():
    s = parse_schedule("weekly monday 09:00 America/New_York")
    assert s.cadence is Cadence.WEEKLY
    # Friday 2024-03-08: next run Monday 2024-03-11 09:00 EDT (DST began on the 10th) = 13:00 UTC
    assert s.next_after(datetime(2024, 3, 8, 12, tzinfo=UTC)) == datetime(
        2024, 3, 11, 13, tzinfo=UTC
    )
    # the week before: 09:00 EST = 14:00 UTC
    assert s.next_after(datetime(2024, 3, 1, 12, tzinfo=UTC)) == datetime(
        2024, 3, 4, 14, tzinfo=UTC
    )


def test_seed001_mapping__same_as_the_phrase():
    m = parse_schedule(
        {"type": "weekly", "day": "monday", "time": "09:00", "timezone": "America/New_York"}
    )
    p = parse_schedule("weekly monday 09:00 America/New_York")
    at = datetime(2024, 6, 5, tzinfo=UTC)
    assert m.next_after(at) == p.next_after(at) and m.cadence is p.cadence


def test_cron__monday_9am__weekly_and_sunday_is_0_or_7():
    s = parse_schedule("0 9 * * 1")
    assert s.cadence is Cadence.WEEKLY
    assert s.next_after(datetime(2024, 6, 4, tzinfo=UTC)) == datetime(2024, 6, 10, 9, tzinfo=UTC)
    assert (
        parse_schedule("0 0 * * 0").weekdays
        == parse_schedule("0 0 * * 7").weekdays
        == frozenset({6})
    )


def test_cron__quarter_months__quarterly():
    s = parse_schedule("30 14 1 1,4,7,10 * Europe/Berlin")
    assert s.cadence is Cadence.QUARTERLY
    assert s.next_after(datetime(2024, 5, 1, tzinfo=UTC)) == datetime(
        2024, 7, 1, 12, 30, tzinfo=UTC
    )


def test_quarterly_and_monthly_phrases():
    assert parse_schedule("quarterly 1 09:00 UTC").next_after(
        datetime(2024, 2, 2, tzinfo=UTC)
    ) == datetime(2024, 4, 1, 9, tzinfo=UTC)
    assert parse_schedule("monthly 15 00:00").cadence is Cadence.MONTHLY


def test_due__last_run_before_a_slot__due():
    s = parse_schedule("daily 09:00 UTC")
    assert s.due(datetime(2024, 6, 3, 8, tzinfo=UTC), datetime(2024, 6, 3, 9, tzinfo=UTC))
    assert not s.due(datetime(2024, 6, 3, 9, tzinfo=UTC), datetime(2024, 6, 3, 20, tzinfo=UTC))


@pytest.mark.parametrize(
    "bad,fragment",
    [
        ("weekly funday 09:00", "weekday"),
        ("weekly monday 9am", "HH:MM"),
        ("daily 09:00 Mars/Olympus", "unknown time zone"),
        ("0 25 * * *", "hour field"),
        ("every tuesday", "cron"),
        ("monthly 31 09:00", "1..28"),
        ({"type": "weekly", "time": "09:00"}, "needs a day"),
    ],
)
def test_schedule__malformed__says_what_is_expected(bad, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_schedule(bad)
