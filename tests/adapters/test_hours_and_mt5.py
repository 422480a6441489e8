"""Market hours from exchange_calendars, and MT5's honest 'not on this platform'."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from keeper.errors import ConfigError, NotAvailable
from keeper.venues.brokers.mt5 import Mt5Venue
from keeper.venues.hours import MarketHours

UTC = UTC


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (datetime(2026, 11, 23, 15, 0, tzinfo=UTC), True),  # Monday 10:00 New York
        (datetime(2026, 11, 23, 21, 30, tzinfo=UTC), False),  # Monday after the close
        (datetime(2026, 11, 21, 15, 0, tzinfo=UTC), False),  # Saturday
        (datetime(2026, 11, 26, 15, 0, tzinfo=UTC), False),  # Thanksgiving
        (
            datetime(2026, 11, 27, 17, 30, tzinfo=UTC),
            True,
        ),  # day after Thanksgiving, before the early close
        (datetime(2026, 11, 27, 18, 30, tzinfo=UTC), False),  # after the 13:00 early close
    ],
)
def test_is_open__xnys__holidays_and_early_closes_from_the_calendar(moment, open_):
    assert MarketHours("XNYS").is_open(moment) is open_


def test_next_open__saturday__monday_open():
    assert MarketHours("XNYS").next_open(datetime(2026, 11, 21, 15, 0, tzinfo=UTC)) == datetime(
        2026, 11, 23, 14, 30, tzinfo=UTC
    )


def test_calendar__typo__config_error_with_suggestion():
    with pytest.raises(ConfigError, match="did you mean XNYS"):
        MarketHours("XNYSS").is_open(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))


def test_is_open__naive_datetime__refused():
    with pytest.raises(ValueError):
        MarketHours("XNYS").is_open(datetime(2026, 11, 23, 15, 0))


def test_mt5__linux__not_available_on_this_platform():
    with pytest.raises(NotAvailable, match="not available on this platform"):
        Mt5Venue.connect(system=lambda: "Linux")


def test_mt5__this_machine__not_available():
    """The real import path on the machine running the tests (Linux in CI)."""
    import platform

    if platform.system() == "Windows":
        pytest.skip("this check is for platforms without an MT5 terminal")
    with pytest.raises(NotAvailable):
        Mt5Venue.connect()


def test_mt5__windows_without_package__not_available_says_install():
    def missing():
        raise ImportError("No module named 'MetaTrader5'")

    with pytest.raises(NotAvailable, match="pip install MetaTrader5"):
        Mt5Venue.connect(system=lambda: "Windows", importer=missing)


def test_mt5__terminal_refuses__not_available_with_its_error():
    module = SimpleNamespace(
        initialize=lambda *a: False, last_error=lambda: (-10003, "IPC initialize failed")
    )
    with pytest.raises(NotAvailable, match="IPC initialize failed"):
        Mt5Venue.connect(system=lambda: "Windows", importer=lambda: module)


def test_mt5__connected__positions_as_decimals():
    module = SimpleNamespace(
        initialize=lambda *a: True,
        positions_get=lambda: [SimpleNamespace(symbol="EURUSD", volume=0.1)],
        shutdown=lambda: None,
    )
    venue = Mt5Venue.connect(system=lambda: "Windows", importer=lambda: module)
    assert venue.positions() == [("EURUSD", Decimal("0.1"))]
