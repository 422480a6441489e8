"""Malformed configs, generated from the example by one mutation each, must all be refused with
ONE line: `file:line: field.path: what is wrong and the fix`, the line pointing at the field
(or at its parent when the field is missing), and no secret value echoed back.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from keeper.config import load_config_text
from keeper.config.loader import yaml_rt
from keeper.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "keeper.yaml"
LINE = re.compile(r"^bad\.yaml:(\d+): (\S+): (.+)$")

Mutation = tuple[str, Callable[[dict], None], str, str | None]
# (id, mutate(doc), expected field path (prefix), key expected on the blamed line or None)


def _at(doc, path):
    node = doc
    for k in path:
        node = node[k]
    return node


def setv(path, value):
    def f(doc):
        _at(doc, path[:-1])[path[-1]] = value

    return f


def drop(path):
    def f(doc):
        del _at(doc, path[:-1])[path[-1]]

    return f


def rename(path, new):
    def f(doc):
        parent = _at(doc, path[:-1])
        parent.insert(list(parent).index(path[-1]), new, parent.pop(path[-1]))

    return f


def steps(*fs):
    def f(doc):
        for g in fs:
            g(doc)

    return f


BTC = ("classes", "btc_eth", "assets", "BTC")
USDC = ("classes", "cash", "assets", "USDC")
DEVNET = ("venues", "devnet")
BINANCE = ("venues", "binance")
ALPACA = ("venues", "alpaca")

MUTATIONS: list[Mutation] = []

# 1. required fields removed
for path, where, key in [
    (("treasury",), "treasury", None),
    (("treasury", "name"), "treasury.name", "treasury"),
    (("venues",), "venues", None),
    (("classes",), "classes", None),
    (DEVNET + ("kind",), "venues.devnet.kind", "devnet"),
    (BTC + ("target",), "classes.btc_eth.assets.BTC.target", "BTC"),
    (BTC + ("holdings",), "classes.btc_eth.assets.BTC.holdings", "BTC"),
    (("classes", "defi", "assets"), "classes.defi.assets", "defi"),
]:
    MUTATIONS.append((f"missing-{where}", drop(path), where, key))
MUTATIONS.append(
    (
        "missing-holding-venue",
        lambda d: _at(d, BTC + ("holdings", 0)).pop("venue"),
        "classes.btc_eth.assets.BTC.holdings[0].venue",
        None,
    )
)

# 2. unknown keys (typos) at every level, with "did you mean"
for path, new, where in [
    (("treasury",), "treasure", "treasure"),
    (DEVNET + ("chain_id",), "chainid", "venues.devnet.chainid"),
    (BTC + ("target",), "targt", "classes.btc_eth.assets.BTC.targt"),
    (("strategy", "kind"), "kinds", "strategy.kinds"),
    (("limits", "max_single_asset"), "max_single", "limits.max_single"),
    (("execution", "slippage_tolerance"), "slipage_tolerance", "execution.slipage_tolerance"),
    (("classes", "core_etfs", "asset_band"), "assets_band", "classes.core_etfs.assets_band"),
    (("prices", "max_age"), "maxage", "prices.maxage"),
]:
    MUTATIONS.append((f"typo-{where}", rename(path, new), where, new))

# 3. wrong types
for path, value, where in [
    (("treasury", "name"), ["a", "b"], "treasury.name"),
    (DEVNET + ("chain_id",), "thirty-one", "venues.devnet.chain_id"),
    (("venues",), ["devnet"], "venues"),
    (BTC + ("holdings",), "devnet", "classes.btc_eth.assets.BTC.holdings"),
    (("strategy", "urgent_override"), "sometimes", "strategy.urgent_override"),
    (("classes", "cash", "cash"), "yes please", "classes.cash.cash"),
    (DEVNET + ("fee_bps",), "thirty", "venues.devnet.fee_bps"),
    (("schedule",), 42, "schedule"),
]:
    MUTATIONS.append((f"type-{where}", setv(path, value), where, path[-1]))

# 4. out of range
for path, value, where in [
    (DEVNET + ("fee_bps",), 5000, "venues.devnet.fee_bps"),
    (BINANCE + ("slippage_bps",), -1, "venues.binance.slippage_bps"),
    (DEVNET + ("chain_id",), 0, "venues.devnet.chain_id"),
    (DEVNET + ("gas", "max_gwei"), 0, "venues.devnet.gas.max_gwei"),
    (("strategy", "edge_margin"), "150%", "strategy.edge_margin"),
    (("limits", "max_single_asset"), "0%", "limits.max_single_asset"),
    (("limits", "max_single_asset"), "150%", "limits.max_single_asset"),
    (("execution", "slippage_tolerance"), "50%", "execution.slippage_tolerance"),
    (BINANCE + ("min_trade",), "-$5", "venues.binance.min_trade"),
]:
    MUTATIONS.append((f"range-{where}-{value}", setv(path, value), where, path[-1]))
MUTATIONS.append(
    (
        "range-decimals",
        lambda d: _at(d, BTC + ("holdings", 1)).__setitem__("decimals", 99),
        "classes.btc_eth.assets.BTC.holdings[1].decimals",
        "BTC",
    )
)

# 5. bad values
for path, value, where in [
    (BTC + ("target",), "abc", "classes.btc_eth.assets.BTC.target"),
    (("defaults", "band", "soft"), "25%", "defaults.band"),  # soft above hard
    (("defaults", "band", "mode"), "sideways", "defaults.band.mode"),
    (("defaults", "band", "soft"), 10, "defaults.band.soft"),  # bare number: 10% or 0.1%?
    (("classes", "core_etfs", "frequency"), ["daily", "monthly"], "classes.core_etfs.frequency"),
    (("classes", "core_etfs", "frequency"), "hourly", "classes.core_etfs.frequency"),
    (("schedule",), "every tuesday", "schedule"),
    (("schedule",), "weekly funday 09:00", "schedule"),
    (("schedule",), "0 25 * * *", "schedule"),
    (("schedule",), "daily 09:00 Mars/Olympus", "schedule"),
    (("strategy", "kind"), "tactical", "strategy.kind"),
    (DEVNET + ("pairing",), "sideways", "venues.devnet.pairing"),
    (ALPACA + ("broker",), "robinhood", "venues.alpaca.broker"),
    (("prices", "max_age"), "soon", "prices.max_age"),
]:
    MUTATIONS.append(
        (
            f"value-{where}-{value}",
            setv(path, value),
            where,
            path[-1] if path[-1] != "soft" else None,
        )
    )

# 6. rules across sections
SEMANTIC: list[Mutation] = [
    ("sum-99", setv(BTC + ("target",), "14%"), "classes", None),
    ("sum-101", setv(BTC + ("target",), "16%"), "classes", None),
    (
        "mixed-units",
        setv(BTC + ("target",), "$150,000"),
        "classes.btc_eth.assets.BTC.target",
        "target",
    ),
    (
        "unknown-venue",
        lambda d: _at(d, BTC + ("holdings", 1)).__setitem__("venue", "binanse"),
        "classes.btc_eth.assets.BTC.holdings[1].venue",
        None,
    ),
    (
        "symbol-on-chain",
        lambda d: _at(d, BTC + ("holdings",)).append({"venue": "devnet", "symbol": "BTC"}),
        "classes.btc_eth.assets.BTC.holdings[2].symbol",
        None,
    ),
    (
        "token-on-cex",
        lambda d: _at(d, BTC + ("holdings", 1)).__setitem__("token", "WBTC"),
        "classes.btc_eth.assets.BTC.holdings[1]",
        None,
    ),
    (
        "token-and-vault",
        lambda d: _at(d, BTC + ("holdings", 0)).__setitem__("vault", "v"),
        "classes.btc_eth.assets.BTC.holdings[0]",
        None,
    ),
    (
        "bad-address",
        lambda d: _at(d, BTC + ("holdings", 0)).__setitem__("token", "0x1234"),
        "classes.btc_eth.assets.BTC.holdings[0].token",
        None,
    ),
    (
        "duplicate-holding",
        lambda d: _at(d, BTC + ("holdings",)).append({"venue": "devnet", "token": "WBTC"}),
        "classes.btc_eth.assets.BTC.holdings[2]",
        None,
    ),
    (
        "asset-in-two-classes",
        steps(
            setv(
                ("classes", "defi", "assets", "BTC"),
                {"target": "0%", "holdings": [{"venue": "binance", "symbol": "BTC2"}]},
            )
        ),
        "classes.defi.assets.BTC",
        "BTC",
    ),
    ("quote-not-held", setv(BINANCE + ("quote",), "USDC"), "venues.binance.quote", "quote"),
    ("via-quote-without-quote", drop(ALPACA + ("quote",)), "venues.alpaca.quote", None),
    ("chain-without-chain-id", drop(DEVNET + ("chain_id",)), "venues.devnet.chain_id", None),
    ("cex-without-exchange", drop(BINANCE + ("exchange",)), "venues.binance.exchange", None),
    ("chain-id-on-cex", setv(BINANCE + ("chain_id",), 1), "venues.binance.chain_id", "chain_id"),
    (
        "reader-for-other-kind",
        setv(BINANCE + ("reader",), "chain"),
        "venues.binance.reader",
        "reader",
    ),
    (
        "max-single-below-target",
        setv(("limits", "max_single_asset"), "10%"),
        "classes.core_etfs.assets.SPY.target",
        "target",
    ),
    (
        "reserve-without-cash-class",
        setv(("classes", "cash", "cash"), False),
        "limits.cash_reserve",
        "cash_reserve",
    ),
    (
        "reserve-above-cash-targets",
        setv(("limits", "cash_reserve"), "50%"),
        "limits.cash_reserve",
        "cash_reserve",
    ),
    (
        "calendar-without-schedule",
        steps(setv(("strategy", "kind"), "calendar"), drop(("schedule",))),
        "strategy.kind",
        "kind",
    ),
    (
        "class-target-mismatch",
        setv(("classes", "defi", "target"), "5%"),
        "classes.defi.target",
        "target",
    ),
    (
        "feed-venue-unknown",
        setv(BTC + ("price", "feed_venue"), "mainnet"),
        "classes.btc_eth.assets.BTC.price.feed_venue",
        None,
    ),
    (
        "feed-venue-not-chain",
        setv(BTC + ("price", "feed_venue"), "binance"),
        "classes.btc_eth.assets.BTC.price.feed_venue",
        None,
    ),
    ("fixed-and-feed", setv(BTC + ("price", "fixed"), 1), "classes.btc_eth.assets.BTC.price", None),
    (
        "hard-below-soft-asset",
        setv(("classes", "core_etfs", "asset_band", "hard"), "1%"),
        "classes.core_etfs.asset_band",
        None,
    ),
]
MUTATIONS += SEMANTIC

# 7. secrets: refused, never echoed
SECRET = "sk-live-THIS-IS-A-SECRET-1234567890"
SECRETS: list[Mutation] = [
    ("api-key-in-venue", setv(BINANCE + ("api_key",), SECRET), "venues.binance.api_key", "api_key"),
    ("private-key-top", setv(("private_key",), "0x" + "ab" * 32), "private_key", "private_key"),
    (
        "password-in-treasury",
        setv(("treasury", "password"), SECRET),
        "treasury.password",
        "password",
    ),
    (
        "secret-as-credentials-env",
        setv(BINANCE + ("credentials_env",), SECRET),
        "venues.binance.credentials_env",
        "credentials_env",
    ),
    (
        "url-as-rpc-env",
        setv(DEVNET + ("rpc_url_env",), "https://mainnet.example/v3/" + SECRET),
        "venues.devnet.rpc_url_env",
        "rpc_url_env",
    ),
]
MUTATIONS += SECRETS


def _mutated_text(mutate) -> str:
    doc = yaml_rt().load(EXAMPLE.read_text())
    mutate(doc)
    buf = io.StringIO()
    yaml_rt().dump(doc, buf)
    return buf.getvalue()


def test_generated_malformed_configs__there_are_at_least_fifty():
    assert len(MUTATIONS) >= 50
    assert len({m[0] for m in MUTATIONS}) == len(MUTATIONS)


@pytest.mark.parametrize("name,mutate,where,key", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_malformed_config__refused_with_one_line_naming_the_field(name, mutate, where, key):
    text = _mutated_text(mutate)
    with pytest.raises(ConfigError) as e:
        load_config_text(text, "bad.yaml")
    message = str(e.value)
    assert "\n" not in message
    m = LINE.match(message)
    assert m, message
    line, path, what = int(m.group(1)), m.group(2), m.group(3)
    assert path.startswith(where), message
    assert 1 <= line <= len(text.splitlines())
    if key is not None:
        assert key in text.splitlines()[line - 1], (message, text.splitlines()[line - 1])
    assert len(what) > 10  # says what is wrong, not just "invalid"
    assert SECRET not in message and "ab" * 32 not in message


@pytest.mark.parametrize("name,mutate,where,key", SECRETS, ids=[m[0] for m in SECRETS])
def test_secret_in_config__refused_with_advice(name, mutate, where, key):
    with pytest.raises(ConfigError) as e:
        load_config_text(_mutated_text(mutate), "bad.yaml")
    assert "environment" in str(e.value)
    assert "<redacted>" not in str(e.value)  # our own advice is readable


def test_malformed__typo__suggests_the_right_key():
    with pytest.raises(ConfigError, match="did you mean 'chain_id'"):
        load_config_text(_mutated_text(rename(DEVNET + ("chain_id",), "chainid")), "bad.yaml")


def test_malformed__unknown_venue__suggests_the_right_venue():
    mutate = lambda d: _at(d, BTC + ("holdings", 1)).__setitem__("venue", "binanse")  # noqa: E731
    with pytest.raises(ConfigError, match="did you mean 'binance'"):
        load_config_text(_mutated_text(mutate), "bad.yaml")


def test_malformed__targets_off__says_how_much_to_add():
    with pytest.raises(ConfigError, match=r"add up to 99%, not 100%: add 1%"):
        load_config_text(_mutated_text(setv(BTC + ("target",), "14%")), "bad.yaml")
