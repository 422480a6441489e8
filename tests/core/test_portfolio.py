from decimal import Decimal

import pytest

from keeper.core.drift import Status, compute_drift
from keeper.core.portfolio import Position, Snapshot
from keeper.core.spec import HoldingKind
from keeper.core.synthetic import NOW, A, H, portfolio, venue
from keeper.errors import ConfigError


def _read(**kw):
    base = dict(
        holding="dex:ETH",
        asset="ETH",
        venue="dex",
        kind=HoldingKind.ERC20,
        raw=10**18,
        decimals=18,
        price_usd=Decimal("3500"),
        price_source="feed",
        price_time=NOW,
        now=NOW,
        max_age_s=3600,
    )
    base.update(kw)
    return Position.read(**base)


def test_position_read__fresh_price__priced_with_exact_value():
    p = _read(raw=15 * 10**17)
    assert p.priced and p.value_usd == Decimal("5250")


@pytest.mark.parametrize(
    "kw,reason",
    [
        (dict(price_usd=None), "no price"),
        (dict(price_usd=Decimal(0)), "non-positive"),
        (dict(price_time=NOW - 3601), "stale price from feed: 3601s old (max 3600s)"),
        (dict(price_time=None), "no timestamp"),
        (dict(price_time=NOW + 7200), "in the future"),
    ],
)
def test_position_read__bad_price__unpriced_with_reason(kw, reason):
    p = _read(**kw)
    assert not p.priced and p.value_usd is None
    assert reason in p.unpriced_reason


def test_position_read__price_exactly_max_age__still_priced():
    assert _read(price_time=NOW - 3600).priced


def test_position__float_price__refused():
    with pytest.raises(TypeError):
        _read(price_usd=3500.0)


def test_position__negative_raw__refused():
    with pytest.raises(ValueError):
        _read(raw=-1)


def test_snapshot__same_holding_twice__refused():
    p = _read()
    with pytest.raises(ValueError, match="twice"):
        Snapshot(positions=(p, p), taken_at=NOW)


def test_snapshot__listing_order__does_not_matter():
    a, b = _read(), _read(holding="dex:ETH2")
    assert Snapshot((a, b), NOW) == Snapshot((b, a), NOW)


# --- unpriced assets block trading and leave the rest of the weights exact -----------------


def _three():
    return portfolio(
        [A("BTC", "c", "0.5"), A("ETH", "c", "0.3"), A("USDC", "cash", "0.2", cash=True)],
        [venue("dex")],
        [
            H("BTC", "dex", "50000", "60000", 8),
            H("ETH", "dex", "30000", "3000"),
            H("USDC", "dex", "20000", "1", 6),
        ],
    )


def test_drift__unpriced_position__asset_blocked_and_others_exact():
    spec, snap = _three()
    btc = snap.position("dex:BTC")
    broken = snap.replace_positions(
        [p for p in snap if p.holding != "dex:BTC"]
        + [
            Position(
                holding=btc.holding,
                asset="BTC",
                venue="dex",
                kind=btc.kind,
                raw=btc.raw,
                decimals=8,
                price_usd=None,
                price_source="feed",
                unpriced_reason="stale price",
            )
        ]
    )
    report = compute_drift(spec, broken)
    assert report.asset("BTC").status is Status.UNPRICED
    assert "stale price" in report.asset("BTC").reason
    # ETH and USDC keep their true weights (30%, 20%) whatever BTC is worth
    assert report.total_usd == Decimal(100_000)
    assert report.asset("ETH").drift_usd == 0 and report.asset("USDC").drift_usd == 0
    assert report.excluded_usd == 0


def test_drift__declared_holding_missing__asset_blocked():
    spec, snap = _three()
    report = compute_drift(spec, snap.replace_positions(p for p in snap if p.asset != "ETH"))
    assert report.asset("ETH").status is Status.UNPRICED
    assert "missing from the snapshot" in report.asset("ETH").reason


def test_drift__position_not_in_spec__config_error():
    spec, snap = _three()
    stray = _read(holding="dex:DOGE", asset="DOGE")
    with pytest.raises(ConfigError, match="DOGE"):
        compute_drift(spec, snap.replace_positions(list(snap) + [stray]))


def test_drift__empty_holding_without_price__worth_zero_not_blocking():
    spec, snap = portfolio(
        [A("BTC", "c", "0.5"), A("USDC", "cash", "0.5", cash=True)],
        [venue("dex"), venue("cex", quote="USDC")],
        [H("BTC", "dex", "50000"), H("BTC", "cex", "0", priced=False), H("USDC", "dex", "50000")],
    )
    report = compute_drift(spec, snap)
    assert report.asset("BTC").status is Status.WITHIN and report.total_usd == 100_000


def test_drift__failed_read__blocks_even_at_zero_raw():
    spec, snap = _three()
    eth = snap.position("dex:ETH")
    failed = Position.failed(holding=eth.holding, asset="ETH", venue="dex", kind=eth.kind, decimals=18,
                             reason="rpc timeout")
    report = compute_drift(spec, snap.replace_positions([p for p in snap if p.asset != "ETH"] + [failed]))
    assert report.asset("ETH").status is Status.UNPRICED and "rpc timeout" in report.asset("ETH").reason
