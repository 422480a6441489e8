from decimal import Decimal

import pytest

from keeper.core.spec import HoldingKind
from keeper.core.synthetic import NOW, A, H, portfolio, venue
from keeper.errors import ConfigError
from keeper.venues.base import VenueReader, read_snapshot
from keeper.venues.static import StaticFile, StaticReader


def _spec():
    spec, _ = portfolio(
        [A("ETH", "c", "0.5"), A("USDC", "cash", "0.5", cash=True)],
        [venue("dex")],
        [H("ETH", "dex", "1", "1"), H("USDC", "dex", "1", "1", 6)],
    )
    return spec


def test_static_reader__amounts_prices_and_raw__positions_exact():
    src = StaticFile.parse(
        {
            "as_of": NOW - 60,
            "blocks": {"dex": 7},
            "prices": {"ETH": "3500", "USDC": "1"},
            "positions": {"dex:ETH": "1.5", "dex:USDC": {"raw": 2_500_000, "decimals": 6}},
        },
        "f.yaml",
    )
    reader = StaticReader("dex", src)
    assert isinstance(reader, VenueReader)
    snap, readings = read_snapshot([reader], _spec(), NOW)
    eth, usdc = snap.position("dex:ETH"), snap.position("dex:USDC")
    assert eth.raw == 15 * 10**17 and eth.value_usd == Decimal("5250")
    assert usdc.value_usd == Decimal("2.5") and usdc.kind is HoldingKind.ERC20
    assert snap.block("dex") == 7 and readings[0].round_trips == 0


def test_static_reader__holding_missing_from_file__failed_not_zero():
    src = StaticFile.parse({"prices": {"ETH": "3500"}, "positions": {"dex:ETH": "1"}}, "f.yaml")
    snap, _ = read_snapshot([StaticReader("dex", src)], _spec(), NOW)
    usdc = snap.position("dex:USDC")
    assert not usdc.priced and "not in f.yaml" in usdc.unpriced_reason


def test_static_reader__old_as_of__prices_stale():
    src = StaticFile.parse(
        {
            "as_of": "2024-06-03T07:00:00Z",
            "prices": {"ETH": "3500", "USDC": "1"},
            "positions": {"dex:ETH": "1", "dex:USDC": "1"},
        },
        "f.yaml",
    )
    snap, _ = read_snapshot([StaticReader("dex", src)], _spec(), NOW)  # NOW is 09:00Z
    assert "stale price" in snap.position("dex:ETH").unpriced_reason


def test_read_snapshot__venue_without_reader__its_holdings_fail():
    snap, _ = read_snapshot([], _spec(), NOW)
    assert all("no reader returned it" in p.unpriced_reason for p in snap)


@pytest.mark.parametrize(
    "data,fragment",
    [
        ({"prices": {"ETH": "abc"}}, "prices.ETH: expected a number"),
        (
            {"positions": {"dex:ETH": {"amount": "1", "colour": "red"}}, "prices": {"ETH": "1"}},
            "unknown key",
        ),
        ({"as_of": "2024-06-03T07:00:00"}, "time zone"),
        ({"balances": {}}, "unknown key"),
    ],
)
def test_static_file__malformed__one_line(data, fragment):
    with pytest.raises(ConfigError, match=fragment):
        src = StaticFile.parse(data, "f.yaml")
        read_snapshot([StaticReader("dex", src)], _spec(), NOW)
