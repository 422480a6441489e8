"""Market hours for broker venues, from the `exchange_calendars` package (no hand-written holidays).

This module owns one question: is a stock exchange in its regular session at a given instant,
and when does it next open. Brokers ask it before placing an ETF leg; the executor then either
waits for the open or rests a day limit order (`ExecutionConfig.off_hours`). The calendar is
loaded lazily (it builds a pandas index) and an unknown calendar name is a `ConfigError` with the
closest known names. It does no network I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def utc_now() -> datetime:
    return datetime.now(UTC)


class MarketHours:
    """Regular-session hours of one exchange calendar (ISO 10383 MIC: XNYS, XNAS, XLON, ...)."""

    def __init__(self, calendar: str = "XNYS", *, now: Callable[[], datetime] = utc_now):
        self.calendar_name = calendar
        self.now = now
        self._calendar: Any = None

    def _cal(self) -> Any:
        if self._calendar is None:
            import exchange_calendars as xcals

            from keeper.errors import ConfigError

            try:
                self._calendar = xcals.get_calendar(self.calendar_name)
            except xcals.errors.InvalidCalendarName:
                close = difflib.get_close_matches(
                    self.calendar_name, xcals.get_calendar_names(), n=3
                )
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ConfigError(
                    f"market hours: unknown exchange calendar {self.calendar_name!r}{hint}"
                ) from None
        return self._calendar

    def _minute(self, at: datetime | None) -> Any:
        import pandas as pd

        moment = at or self.now()
        if moment.tzinfo is None:
            raise ValueError("market hours need an aware datetime (UTC)")
        return pd.Timestamp(moment).tz_convert("UTC").floor("min")

    def is_open(self, at: datetime | None = None) -> bool:
        """True during the regular session (holidays and early closes included)."""
        return bool(self._cal().is_open_on_minute(self._minute(at)))

    def next_open(self, at: datetime | None = None) -> datetime:
        """The start of the next regular session after `at` (UTC)."""
        return self._cal().next_open(self._minute(at)).to_pydatetime()
