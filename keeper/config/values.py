"""Parsers for the human-written values of `keeper.yaml`: percentages, USD amounts, basis points,
durations. Each returns a `Decimal` (never a float) or an int, and raises `ValueError` with a
message that says what was expected, so the loader can print it as the fix.

YAML turns `0.5` into a float before we see it; a float is accepted only where a plain number is
allowed and is read through its shortest decimal form (`0.1` -> Decimal("0.1")), never as a binary
fraction. Percentages must carry their `%` sign: a bare `20` could mean 20% or 0.2%.

This module must not do I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_PCT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(%|pp)\s*$")
_USD = re.compile(r"^\s*\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*([kKmM])?\s*(usd|USD)?\s*$")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
_MULT = {"k": 1_000, "m": 1_000_000}
_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    return None


def parse_percent(value: Any) -> Decimal:
    """'20%' -> Decimal('0.2'); '5pp' -> Decimal('0.05'). Bare numbers are refused. A `Decimal`
    (which YAML never produces) is taken as an already-parsed fraction, for defaults in code."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        m = _PCT.match(value)
        if m:
            return Decimal(m.group(1)) / 100
    raise ValueError(f'expected a percentage like "20%" or "0.5%", got {value!r}')


def parse_usd(value: Any) -> Decimal:
    """'$1,000' / '1000' / 1000 / '10k' / '1.5M USD' -> Decimal USD."""
    n = _number(value)
    if n is not None:
        return n
    if isinstance(value, str):
        m = _USD.match(value)
        if m:
            whole = m.group(1).replace(",", "")
            amount = Decimal(whole + (m.group(2) or ""))
            if m.group(3):
                amount *= _MULT[m.group(3).lower()]
            return amount
    raise ValueError(f'expected a USD amount like "$1,000" or 1000, got {value!r}')


def parse_bps(value: Any) -> int:
    """30 / '30bps' / '0.3%' -> 30 (integer basis points)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        s = value.strip().lower()
        if s.endswith("bps"):
            s = s[:-3].strip()
            if s.isdigit():
                return int(s)
        elif s.endswith("%"):
            try:
                bps = Decimal(s[:-1]) * 100
            except InvalidOperation:
                bps = Decimal("NaN")
            if bps.is_finite() and bps == bps.to_integral_value():
                return int(bps)
    raise ValueError(f'expected whole basis points like 30, "30bps" or "0.3%", got {value!r}')


def parse_duration(value: Any) -> int:
    """3600 / '3600s' / '15m' / '1h' / '2d' -> seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return int(m.group(1)) * _SECONDS[m.group(2) or "s"]
    raise ValueError(f'expected a duration like 3600, "15m" or "1h", got {value!r}')


@dataclass(frozen=True, slots=True)
class TargetValue:
    """A target written either as a percentage of the portfolio or as a USD amount."""

    percent: Decimal | None = None  # fraction, 0.25 = 25%
    usd: Decimal | None = None

    def __str__(self) -> str:
        if self.percent is not None:
            return f"{(self.percent * 100).normalize():f}%"
        return f"${self.usd:,}"


def parse_target(value: Any) -> TargetValue:
    """'25%' -> percent; '$20,000' or 20000 -> USD."""
    if isinstance(value, TargetValue):
        return value
    if isinstance(value, str) and _PCT.match(value):
        return TargetValue(percent=parse_percent(value))
    try:
        return TargetValue(usd=parse_usd(value))
    except ValueError:
        raise ValueError(f'expected a target like "25%" or "$20,000", got {value!r}') from None


Percent = Annotated[
    Decimal,
    BeforeValidator(parse_percent),
    PlainSerializer(lambda d: f"{(d * 100).normalize():f}%"),
]
Usd = Annotated[Decimal, BeforeValidator(parse_usd), PlainSerializer(lambda d: f"${d:,}")]
Bps = Annotated[int, BeforeValidator(parse_bps)]
Seconds = Annotated[int, BeforeValidator(parse_duration)]
Target = Annotated[TargetValue, BeforeValidator(parse_target), PlainSerializer(str)]
