import json

import pytest

from keeper.config import load_config
from keeper.config.addresses import load_address_book, parse_address_book, resolve_chain_refs
from keeper.errors import ConfigError

ADDR = "0x" + "11" * 20


def _book(n: int) -> str:
    return "0x" + f"{n:040x}"


def test_address_book__nested__full_and_short_names(tmp_path):
    book = parse_address_book(
        {"tokens": {"USDC": ADDR}, "chain_id": 31337, "vaults": {"vault_usdc_a": _book(2)}},
        "b.json",
    )
    assert book.resolve("USDC", "h") == ADDR and book.resolve("tokens.USDC", "h") == ADDR
    assert book.resolve(_book(9), "h") == _book(9)  # a literal address needs no entry


def test_address_book__unknown_name__did_you_mean():
    book = parse_address_book({"vault_usdc_a": ADDR}, "b.json")
    with pytest.raises(ConfigError, match="did you mean 'vault_usdc_a'"):
        book.resolve("vault_usdc_x", "holding devnet:vault_usdc_x")


def test_resolve_chain_refs__example_with_a_book__every_holding_and_feed(config_copy):
    names = [
        "WBTC",
        "WETH",
        "SOL",
        "UNI",
        "USDC",
        "USDT",
        "DAI",
        "vault_usdc_a",
        "vault_usdc_b",
        "aUSDC",
        "vault_dai",
        "feed_btc_usd",
        "feed_eth_usd",
        "feed_sol_usd",
        "feed_uni_usd",
        "feed_usdc_usd",
        "feed_usdt_usd",
        "feed_dai_usd",
    ]
    book = config_copy.parent / "book.json"
    book.write_text(json.dumps({n: _book(i + 1) for i, n in enumerate(names)}))
    config_copy.write_text(
        config_copy.read_text().replace("../.devnet/addresses.json", "book.json")
    )
    refs = resolve_chain_refs(load_config(config_copy))
    assert refs.holdings["devnet:vault_usdc_a"] == _book(names.index("vault_usdc_a") + 1)
    assert refs.feeds["BTC"] == ("devnet", _book(names.index("feed_btc_usd") + 1))
    assert "binance:BTC" not in refs.holdings


def test_resolve_chain_refs__book_missing__says_how_to_get_it(config_copy):
    with pytest.raises(ConfigError, match="start the devnet"):
        resolve_chain_refs(load_config(config_copy))


def test_load_address_book__bad_json__file_and_line(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{\n  "USDC": \n}')
    with pytest.raises(ConfigError, match=r"b.json:3: the address book is not valid JSON"):
        load_address_book(p)
