"""Seed 001's `portfolio_rebalancer` YAML is a valid keeper config."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from keeper.config import load_config_text
from keeper.core.drift import compute_drift
from keeper.core.spec import BandMode, Cadence, StrategyKind
from keeper.errors import ConfigError
from keeper.venues.base import read_snapshot
from keeper.venues.static import StaticFile, StaticReader

SEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"

# The configuration block of seed 001, as written there.
SEED_001 = """\
portfolio_rebalancer:
  enabled: true

  # Target allocation (must sum to 100%)
  targets:
    BTC: 40%
    ETH: 25%
    SOL: 10%
    USDC: 15%     # Stablecoin reserve
    SPY: 10%      # S&P 500 ETF via MT5

  # Strategy
  strategy: threshold
  drift_threshold: 5%        # Rebalance when drift > 5%
  min_trade_value: $100      # Ignore tiny rebalances

  # Execution
  execution:
    slippage_tolerance: 0.5%
    use_limit_orders: true
    split_large_orders: true  # Split orders > $10k
    prefer_dex: false         # Use CEX by default

  # Tax settings (US)
  tax:
    enable_tlh: true           # Tax-loss harvesting
    lot_selection: hifo        # Highest-in-first-out
    wash_sale_days: 30
    long_term_preference: true # Prefer selling long-term lots

  # Risk limits
  risk:
    max_single_asset: 50%
    max_correlation: 0.8
    min_cash_reserve: 10%
    drawdown_reduce_at: 20%

  # Schedule (for calendar strategy)
  schedule:
    type: weekly
    day: monday
    time: "09:00"
    timezone: America/New_York
"""


def test_seed001_yaml__loads__translated_faithfully():
    cfg = load_config_text(SEED_001, "seed001.yaml")
    spec = cfg.spec
    assert cfg.format == "seed001"
    assert {a.name: a.target for a in spec.assets} == {
        "BTC": Decimal("0.4"),
        "ETH": Decimal("0.25"),
        "SOL": Decimal("0.1"),
        "USDC": Decimal("0.15"),
        "SPY": Decimal("0.1"),
    }
    assert spec.asset("USDC").cash and not spec.asset("BTC").cash
    band = spec.asset("BTC").band
    assert band.mode is BandMode.ABSOLUTE and band.soft == Decimal("0.05")
    assert spec.strategy.kind is StrategyKind.THRESHOLD
    assert all(v.min_trade_usd == 100 for v in spec.venues)
    assert spec.limits.max_single_asset == Decimal(
        "0.5"
    ) and spec.limits.cash_reserve_fraction == Decimal("0.1")
    assert spec.schedule_cadence is Cadence.WEEKLY
    assert cfg.model.execution.split_orders_above == 10_000
    assert cfg.model.tax.lot_selection == "hifo" and cfg.model.risk.max_correlation == Decimal(
        "0.8"
    )
    assert any("one venue" in n for n in cfg.notes)


def test_seed001_example_session__btc_at_45_2pct__only_btc_past_the_threshold():
    """Seed 001's session: BTC 45.2% / ETH 22.1% / SOL 8.4% / USDC 14.8% / SPY 9.5%:
    "BTC exceeds 5% drift threshold" and nothing else does."""
    spec = load_config_text(SEED_001, "seed001.yaml").spec
    weights = {"BTC": "45.2", "ETH": "22.1", "SOL": "8.4", "USDC": "14.8", "SPY": "9.5"}
    static = StaticFile.parse(
        {
            "prices": {a: "1" for a in weights},
            "positions": {
                f"portfolio:{a}": {"amount": str(Decimal(w) * 1000), "decimals": 2}
                for a, w in weights.items()
            },
        },
        "session",
    )
    snap, _ = read_snapshot([StaticReader("portfolio", static)], spec, 1_717_405_200)
    report = compute_drift(spec, snap)
    assert [r.name for r in report.assets if r.status.out_of_band] == ["BTC"]


def test_seed001_file__its_own_yaml_block__loads():
    files = sorted(SEEDS.glob("001_*.txt")) if SEEDS.is_dir() else []
    if not files:
        pytest.skip(f"seed 001 not found under {SEEDS} (../shared/seeds)")
    block = re.search(r"```yaml\n(.*?)```", files[0].read_text(), re.S)
    assert block, "seed 001 has no yaml block"
    assert load_config_text(block.group(1), files[0].name).format == "seed001"


@pytest.mark.parametrize(
    "mutate,fragment",
    [
        (
            lambda t: t.replace("SPY: 10%", "SPY: 12%"),
            "seed001.yaml:5: portfolio_rebalancer.targets: asset targets add up to 102%",
        ),
        (
            lambda t: t.replace("strategy: threshold", "strategy: tactical"),
            "portfolio_rebalancer.strategy: must be one of",
        ),
        (
            lambda t: t.replace("max_single_asset: 50%", "max_single_asset: 30%"),
            "portfolio_rebalancer.targets.BTC",
        ),
        (
            lambda t: t.replace("drift_threshold: 5%", "drift_treshold: 5%"),
            "did you mean 'drift_threshold'",
        ),
        (
            lambda t: t.replace("BTC: 40%", "BTC: forty"),
            "seed001.yaml:6: portfolio_rebalancer.targets.BTC",
        ),
        (
            lambda t: t.replace("min_cash_reserve: 10%", "min_cash_reserve: 20%"),
            "portfolio_rebalancer.risk.min_cash_reserve",
        ),
    ],
)
def test_seed001_yaml__mistakes__one_line_at_the_seed_key(mutate, fragment):
    with pytest.raises(ConfigError) as e:
        load_config_text(mutate(SEED_001), "seed001.yaml")
    assert fragment in str(e.value) and "\n" not in str(e.value)
