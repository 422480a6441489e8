"""The lots CSV (docs/tax-lots-csv.md): parsing, and one clear line for each bad cell."""

from decimal import Decimal

import pytest

from keeper.errors import ConfigError
from keeper.tax.csv_import import parse_lots_csv
from keeper.tax.jurisdictions import us_profile
from keeper.tax.ledger import Acquisition, Sale, Transfer, replay
from keeper.tax.model import AssetKind

HEADER = "date,type,asset,kind,account,quantity,decimals,amount,fee,to_account,lot_id,note\n"
DOC_EXAMPLE = """# my history, USD
date,type,asset,kind,account,quantity,decimals,amount,fee,to_account,lot_id,note
2023-01-17,buy,QQQ,security,ibkr:U1,25,0,10000,1,,qqq-1,
2022-06-15,buy,BTC,crypto,coinbase:main,0.5,8,19990,10,,btc-1,
2023-07-01,transfer,BTC,crypto,coinbase:main,0.2,8,,,ledger:cold,,to cold storage
2024-03-01,sell,QQQ,security,ibkr:U1,10,0,4500,1,,qqq-1,specific lot
2024-05-02,sell,BTC,crypto,ledger:cold,0.1,8,6000,2,,,
"""


def test_parse__documented_example__events_with_raw_quantities_and_fees():
    events = parse_lots_csv(DOC_EXAMPLE, timezone="America/New_York")
    qqq, btc, move, sale, btc_sale = events
    assert isinstance(qqq, Acquisition) and qqq.cost == Decimal(10001) and qqq.event_id == "qqq-1"
    assert (
        isinstance(btc, Acquisition)
        and btc.quantity_raw == 50_000_000
        and btc.kind is AssetKind.CRYPTO
    )
    assert isinstance(move, Transfer) and (move.from_account, move.to_account) == (
        "coinbase:main",
        "ledger:cold",
    )
    assert isinstance(sale, Sale) and sale.proceeds == Decimal(4499) and sale.lot_id == "qqq-1"
    assert str(qqq.at.tzinfo) == "America/New_York" and qqq.at.hour == 0
    result = replay(events, us_profile())
    assert [(r.asset, r.account, r.quantity_raw) for r in result.realised] == [
        ("QQQ", "ibkr:U1", 10),
        ("BTC", "ledger:cold", 10_000_000),
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "2024-01-02,buy,BTC,crypto,cb,1.5.0,8,100,,,,",
            r"lots.csv:2: quantity: '1.5.0' is not a number",
        ),
        (
            "2024-01-02,buy,BTC,crypto,cb,0.123456789,8,100,,,,",
            r"lots.csv:2: quantity: .* more than 8 decimal places",
        ),
        (
            "2024-01-02,bought,BTC,crypto,cb,1,8,100,,,,",
            r"lots.csv:2: type: 'bought' is not one of buy, sell, transfer",
        ),
        (
            "2024-01-02,buy,BTC,coin,cb,1,8,100,,,,",
            r"lots.csv:2: kind: 'coin' is not one of security, crypto",
        ),
        ("2024-01-02,buy,BTC,crypto,cb,1,8,,,,,", r"lots.csv:2: amount: is empty"),
        (
            "2024-01-02,buy,BTC,crypto,cb,1,8,1.5e,,,,",
            r"lots.csv:2: amount: '1.5e' is not a number",
        ),
        (
            "02/01/2024,buy,BTC,crypto,cb,1,8,100,,,,",
            r"lots.csv:2: date: '02/01/2024' is not an ISO date",
        ),
        ("2024-01-02,buy,BTC,crypto,,1,8,100,,,,", r"lots.csv:2: account: is empty"),
        (
            "2024-01-02,transfer,BTC,crypto,cb,1,8,,,cb,,",
            r"lots.csv:2: to_account: same as account",
        ),
        (
            "2024-01-02,buy,BTC,crypto,cb,-1,8,100,,,,",
            r"lots.csv:2: quantity: '-1' must be positive",
        ),
        (
            "2024-01-02,transfer,BTC,crypto,cb,1,8,,0.1,cold,,",
            r"lots.csv:2: fee: a transfer carries no amount or fee",
        ),
    ],
)
def test_parse__bad_cell__one_line_naming_line_column_and_fix(row, message):
    with pytest.raises(ConfigError, match=message) as error:
        parse_lots_csv(HEADER + row + "\n")
    assert "\n" not in str(error.value)


def test_parse__typo_in_header__did_you_mean():
    with pytest.raises(ConfigError, match=r"unknown column 'quantiy' \(did you mean quantity\?\)"):
        parse_lots_csv("date,type,asset,kind,account,quantiy,decimals\n")


def test_parse__asset_changes_decimals__refused_with_line():
    text = (
        HEADER
        + "2024-01-02,buy,BTC,crypto,cb,1,8,100,,,,\n2024-01-03,buy,BTC,crypto,cb,1,18,100,,,,\n"
    )
    with pytest.raises(
        ConfigError, match=r"lots.csv:3: decimals: BTC was given 8 decimals earlier"
    ):
        parse_lots_csv(text)


def test_parse__empty_file__points_to_the_format_doc():
    with pytest.raises(ConfigError, match="docs/tax-lots-csv.md"):
        parse_lots_csv("# nothing\n\n")


def test_replay__duplicate_lot_id__refused():
    text = (
        HEADER
        + "2024-01-02,buy,BTC,crypto,cb,1,8,100,,,x,\n2024-01-03,buy,BTC,crypto,cb,1,8,100,,,x,\n"
    )
    with pytest.raises(ConfigError, match="lot id x appears twice"):
        replay(parse_lots_csv(text), us_profile())
