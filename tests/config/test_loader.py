from decimal import Decimal
from pathlib import Path

import pytest

from keeper.config import load_config, load_config_text
from keeper.config.values import parse_bps, parse_duration, parse_percent, parse_target, parse_usd
from keeper.core.spec import BandMode, Cadence, HoldingKind, Pairing, StrategyKind, VenueKind
from keeper.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "keeper.yaml"


def test_example__loads__spec_matches_the_file():
    cfg = load_config(EXAMPLE)
    spec = cfg.spec
    assert sum(a.target for a in spec.assets) == 1
    assert spec.asset("SPY").band.soft == Decimal("0.05")  # class asset_band
    assert spec.asset("BTC").band.soft == Decimal("0.10")  # defaults.band
    assert spec.asset_class("core_etfs").frequency is Cadence.WEEKLY
    assert spec.asset_class("fixed_income").frequency is Cadence.MONTHLY
    assert (
        spec.venue("binance").pairing is Pairing.VIA_QUOTE and spec.venue("binance").quote == "USDT"
    )
    assert (
        spec.venue("devnet").kind is VenueKind.CHAIN and spec.venue("devnet").min_trade_usd == 500
    )
    assert spec.holding("devnet:vault_usdc_a").kind is HoldingKind.ERC4626
    assert spec.holding("devnet:aUSDC").kind is HoldingKind.ATOKEN
    assert spec.holding("alpaca:SPY").kind is HoldingKind.BROKER_POSITION
    assert spec.strategy.kind is StrategyKind.HYBRID
    assert spec.limits.cash_reserve_usd == 10_000 and spec.limits.max_single_asset == Decimal(
        "0.25"
    )
    assert spec.schedule_cadence is Cadence.WEEKLY
    assert spec.asset("USD").price.fixed == 1
    assert (
        spec.asset("BTC").price.feed == "feed_btc_usd"
        and spec.asset("BTC").price.feed_venue == "devnet"
    )


def test_config__usd_targets__scaled_to_weights():
    text = """
treasury: {name: t}
venues: {b: {kind: broker, broker: alpaca, quote: USD}}
classes:
  a: {assets: {SPY: {target: "$30,000", holdings: [{venue: b, symbol: SPY}]}}}
  c: {cash: true, assets: {USD: {target: "$10,000", holdings: [{venue: b, symbol: USD}]}}}
"""
    spec = load_config_text(text, "t.yaml").spec
    assert spec.asset("SPY").target == Decimal("0.75") and spec.targets_in_usd


def test_config__absolute_band__mode_kept():
    text = """
treasury: {name: t}
venues: {b: {kind: broker, broker: alpaca, quote: USD}}
defaults: {band: {soft: 5%, hard: 10%, mode: absolute}}
classes:
  a: {assets: {SPY: {target: 60%, holdings: [{venue: b, symbol: SPY}]}}}
  c: {cash: true, assets: {USD: {target: 40%, holdings: [{venue: b, symbol: USD}]}}}
"""
    band = load_config_text(text, "t.yaml").spec.asset("SPY").band
    assert band.mode is BandMode.ABSOLUTE and band.soft == Decimal("0.05")


def test_load_config__missing_file__one_line_with_fix(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: pass --config"):
        load_config(tmp_path / "nope.yaml")


def test_load_config__yaml_syntax_error__file_and_line(tmp_path):
    p = tmp_path / "k.yaml"
    p.write_text("treasury:\n  name: x\nvenues: [\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).startswith(f"{p}:") and "YAML syntax error" in str(e.value)


def test_load_config__duplicate_key__refused_with_line(tmp_path):
    p = tmp_path / "k.yaml"
    p.write_text("treasury: {name: a}\ntreasury: {name: b}\n")
    with pytest.raises(ConfigError, match=r":2: YAML syntax error"):
        load_config(p)


@pytest.mark.parametrize("text,value", [("20%", "0.2"), ("0.5%", "0.005"), ("5pp", "0.05")])
def test_parse_percent__forms__exact_decimal(text, value):
    assert parse_percent(text) == Decimal(value)


@pytest.mark.parametrize("bad", [20, 0.2, "20", "twenty%", True])
def test_parse_percent__no_percent_sign__refused(bad):
    with pytest.raises(ValueError, match="percentage"):
        parse_percent(bad)


@pytest.mark.parametrize(
    "text,value",
    [
        ("$1,000", 1000),
        ("1000", 1000),
        (1000, 1000),
        ("10k", 10000),
        ("$1.5M", 1_500_000),
        ("250 USD", 250),
        (0.1, Decimal("0.1")),
    ],
)
def test_parse_usd__forms__exact_decimal(text, value):
    assert parse_usd(text) == Decimal(value)


def test_parse_usd__float_from_yaml__read_through_its_decimal_text():
    assert parse_usd(0.1) == Decimal("0.1")  # not 0.1000000000000000055511151231257827


def test_parse_misc__bps_duration_target():
    assert parse_bps("0.3%") == 30 and parse_bps("30bps") == 30
    assert parse_duration("15m") == 900 and parse_duration("1h") == 3600
    assert parse_target("25%").percent == Decimal("0.25") and parse_target("$20,000").usd == 20000
    with pytest.raises(ValueError):
        parse_bps("0.35bps")
