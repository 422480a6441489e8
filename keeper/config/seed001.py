"""Seed 001's `portfolio_rebalancer` YAML, accepted as a keeper config.

A file whose top level is `portfolio_rebalancer:` is validated against `Seed001File` (same
rules: unknown keys are errors) and translated into a `keeper.yaml` mapping:

- `targets` -> one class `cash` (stablecoins and fiat: USDC, USDT, DAI, USD ...) and one class
  `holdings` (everything else), each asset held on a single venue named `portfolio`;
- `drift_threshold: 5%` -> absolute bands of +-5 percentage points (soft) and twice that (hard),
  as in seed 001's example (BTC 45.2% vs 40% "exceeds 5% drift threshold");
- `min_trade_value` -> the minimum leg for every venue kind;
- `risk.min_cash_reserve` / `risk.max_single_asset` -> `limits`; `schedule`, `execution`, `tax`
  and the rest of `risk` map one to one; `split_large_orders: true` splits above $10,000.

Seed 001 does not say where assets live, so the `portfolio` venue reads a static file,
`portfolio-holdings.yaml` beside the config (or whatever `--static` names). `translation_notes`
says so to the operator. `seed_path` maps a path of the translated config back to the seed's own
keys, so errors point at the line the user wrote.

This module must not do I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from keeper.config.models import Strict
from keeper.config.values import Percent, Usd

STABLES = frozenset(
    {
        "USDC",
        "USDT",
        "DAI",
        "USD",
        "EUR",
        "GBP",
        "BUSD",
        "TUSD",
        "FDUSD",
        "PYUSD",
        "USDE",
        "USDS",
        "FRAX",
        "LUSD",
        "GHO",
    }
)
VENUE = "portfolio"
STATIC_FILE = "portfolio-holdings.yaml"
ROOT = "portfolio_rebalancer"


class Seed001Execution(Strict):
    slippage_tolerance: Percent = Decimal("0.005")
    """Worst accepted price vs quote."""
    use_limit_orders: bool = True
    """Limit orders instead of market orders."""
    split_large_orders: bool = False
    """Split orders larger than $10,000."""
    prefer_dex: bool = False
    """Prefer DEX over CEX."""


class Seed001Tax(Strict):
    enable_tlh: bool = False
    """Tax-loss harvesting."""
    lot_selection: Literal["fifo", "lifo", "hifo"] = "fifo"
    """Lot selection."""
    wash_sale_days: int = Field(30, ge=0, le=366)
    """Wash-sale window in days."""
    long_term_preference: bool = True
    """Prefer selling long-term lots."""


class Seed001Risk(Strict):
    max_single_asset: Percent | None = Field(None, gt=0, le=1)
    """Max weight of one asset."""
    max_correlation: Decimal | None = Field(None, ge=0, le=1)
    """Correlation alert level."""
    min_cash_reserve: Percent | None = Field(None, ge=0, le=1)
    """Minimum cash share."""
    drawdown_reduce_at: Percent | None = Field(None, gt=0, le=1)
    """Drawdown that reduces risk."""


class Seed001Schedule(Strict):
    type: Literal["daily", "weekly", "monthly", "quarterly"]
    """Cadence."""
    day: str | None = None
    """Weekday (weekly) or day of month (monthly, quarterly)."""
    time: str = "00:00"
    """HH:MM."""
    timezone: str = "UTC"
    """IANA time zone."""


class Seed001(Strict):
    enabled: bool = True
    """false: read and decide, never execute."""
    targets: dict[str, Percent] = Field(min_length=1)
    """Asset -> share of the portfolio; must add up to 100%."""
    strategy: Literal["threshold", "calendar", "cash_flow", "cash-flow", "band", "hybrid"] = (
        "threshold"
    )
    """threshold, band, calendar, cash_flow or hybrid (not seed 001's tactical overlay)."""
    drift_threshold: Percent = Decimal("0.05")
    """Rebalance when an asset's weight is more than this many points off target."""
    min_trade_value: Usd = Decimal(100)
    """Ignore trades smaller than this."""
    execution: Seed001Execution = Seed001Execution()
    """Order handling."""
    tax: Seed001Tax | None = None
    """Tax settings."""
    risk: Seed001Risk = Seed001Risk()
    """Risk limits."""
    schedule: Seed001Schedule | None = None
    """When scheduled rebalances happen."""


class Seed001File(Strict):
    portfolio_rebalancer: Seed001
    """Seed 001's section."""


def _pct(d: Decimal) -> str:
    return f"{(d * 100).normalize():f}%"


def translate(seed: Seed001) -> dict[str, Any]:
    """The keeper.yaml mapping equivalent to `seed` (validate it with KeeperConfig)."""
    cash = sorted(a for a in seed.targets if a.upper() in STABLES)
    quote = "USDC" if "USDC" in cash else (cash[0] if cash else None)
    classes: dict[str, Any] = {}
    for name, label, members, is_cash in (
        ("cash", "Cash", cash, True),
        ("holdings", "Holdings", [a for a in seed.targets if a not in cash], False),
    ):
        if members:
            classes[name] = {
                "label": label,
                "cash": is_cash,
                "assets": {
                    a: {
                        "target": _pct(seed.targets[a]),
                        "holdings": [{"venue": VENUE, "symbol": a}],
                    }
                    for a in members
                },
            }
    band = {
        "soft": _pct(seed.drift_threshold),
        "hard": _pct(seed.drift_threshold * 2),
        "mode": "absolute",
    }
    mt = f"${seed.min_trade_value}"
    venue: dict[str, Any] = {
        "kind": "cex",
        "exchange": "unspecified",
        "reader": {"static": STATIC_FILE},
    }
    if quote:
        venue["quote"] = quote
    else:
        venue["pairing"] = "direct"
    out: dict[str, Any] = {
        "enabled": seed.enabled,
        "treasury": {"name": "portfolio_rebalancer (seed 001)"},
        "venues": {VENUE: venue},
        "classes": classes,
        "defaults": {
            "band": band,
            "class_band": band,
            "min_trade": {"chain": mt, "cex": mt, "broker": mt},
        },
        "strategy": {"kind": seed.strategy.replace("-", "_")},
        "execution": {
            "slippage_tolerance": _pct(seed.execution.slippage_tolerance),
            "use_limit_orders": seed.execution.use_limit_orders,
            "prefer_dex": seed.execution.prefer_dex,
        },
        "limits": {},
        "risk": {},
    }
    if seed.execution.split_large_orders:
        out["execution"]["split_orders_above"] = "$10,000"
    if seed.risk.min_cash_reserve is not None:
        out["limits"]["cash_reserve"] = _pct(seed.risk.min_cash_reserve)
    if seed.risk.max_single_asset is not None:
        out["limits"]["max_single_asset"] = _pct(seed.risk.max_single_asset)
    if seed.risk.max_correlation is not None:
        out["risk"]["max_correlation"] = str(seed.risk.max_correlation)
    if seed.risk.drawdown_reduce_at is not None:
        out["risk"]["drawdown_reduce_at"] = _pct(seed.risk.drawdown_reduce_at)
    if seed.tax is not None:
        out["tax"] = seed.tax.model_dump()
    if seed.schedule is not None:
        out["schedule"] = {
            k: str(v) for k, v in seed.schedule.model_dump().items() if v is not None
        }
    return out


def translation_notes(seed: Seed001) -> tuple[str, ...]:
    notes = [
        f"seed-001 format: every asset is placed on one venue {VENUE!r} read from {STATIC_FILE} "
        "(or --static FILE); write a keeper.yaml with venues and holdings to say where assets live"
    ]
    if not seed.enabled:
        notes.append(

                "portfolio_rebalancer.enabled is false: the keeper decides and journals but never "
                "executes"

        )
    return tuple(notes)


def seed_path(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A path of the translated config -> the seed key that produced it."""
    p = tuple(path)
    if len(p) >= 5 and p[0] == "classes" and p[2] == "assets":
        return (ROOT, "targets", p[3])
    if p[:1] == ("classes",):
        return (ROOT, "targets")
    mapping = {
        ("limits", "cash_reserve"): (ROOT, "risk", "min_cash_reserve"),
        ("limits", "max_single_asset"): (ROOT, "risk", "max_single_asset"),
        ("strategy", "kind"): (ROOT, "strategy"),
        ("schedule",): (ROOT, "schedule"),
    }
    for prefix, target in mapping.items():
        if p[: len(prefix)] == prefix:
            return target
    return (ROOT,)
