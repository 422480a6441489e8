"""Money: raw integer token amounts with their decimals, and `Decimal` for fiat.

This module owns the only conversions between raw token units and human numbers. Floats never
carry money: a float may describe a statistic (volatility, correlation), never an amount or a price.
Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, localcontext

# Wide enough for 2**256 raw units and a price with 18 decimals, with room to spare.
MONEY_CONTEXT = Context(prec=100, rounding=ROUND_HALF_EVEN)

ZERO = Decimal(0)
CENT = Decimal("0.01")
BPS = Decimal(10_000)


def to_decimal(raw: int, decimals: int) -> Decimal:
    """Raw integer units -> exact `Decimal` number of tokens (no rounding)."""
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise TypeError(f"raw amount must be an int, got {type(raw).__name__}")
    _check_decimals(decimals)
    return Decimal(raw).scaleb(-decimals, MONEY_CONTEXT)


def to_raw(amount: Decimal | int | str, decimals: int, *, rounding: str = ROUND_DOWN) -> int:
    """A number of tokens -> raw integer units, rounded down by default (never over-spend)."""
    if isinstance(amount, float):
        raise TypeError("amounts are never floats: pass a Decimal, an int or a string")
    _check_decimals(decimals)
    with localcontext(MONEY_CONTEXT) as ctx:
        ctx.rounding = rounding
        scaled = Decimal(amount).scaleb(decimals)
        return int(scaled.to_integral_value())


def usd(value: Decimal | int | str) -> Decimal:
    """A fiat figure as `Decimal`, refusing floats."""
    if isinstance(value, float):
        raise TypeError("fiat values are never floats: pass a Decimal, an int or a string")
    return Decimal(value)


def round_usd(value: Decimal) -> Decimal:
    """Round a fiat figure to cents for display or reports (banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def bps_of(value: Decimal, bps: int | Decimal) -> Decimal:
    """`bps` basis points of `value`."""
    return value * Decimal(bps) / BPS


def _check_decimals(decimals: int) -> None:
    if not isinstance(decimals, int) or not 0 <= decimals <= 77:
        raise ValueError(f"decimals must be an int in 0..77, got {decimals!r}")


@dataclass(frozen=True, slots=True)
class TokenAmount:
    """An amount of one token in raw units, with the token's decimals."""

    raw: int
    decimals: int

    def __post_init__(self) -> None:
        if not isinstance(self.raw, int) or isinstance(self.raw, bool):
            raise TypeError(f"raw amount must be an int, got {type(self.raw).__name__}")
        _check_decimals(self.decimals)

    @classmethod
    def of(cls, amount: Decimal | int | str, decimals: int) -> TokenAmount:
        """From a number of tokens, rounded down to the token's smallest unit."""
        return cls(to_raw(amount, decimals), decimals)

    @property
    def tokens(self) -> Decimal:
        return to_decimal(self.raw, self.decimals)

    def value(self, price: Decimal) -> Decimal:
        """USD value at `price` USD per whole token (exact, not rounded)."""
        with localcontext(MONEY_CONTEXT):
            return self.tokens * price

    def __add__(self, other: TokenAmount) -> TokenAmount:
        self._same_scale(other)
        return TokenAmount(self.raw + other.raw, self.decimals)

    def __sub__(self, other: TokenAmount) -> TokenAmount:
        self._same_scale(other)
        return TokenAmount(self.raw - other.raw, self.decimals)

    def _same_scale(self, other: TokenAmount) -> None:
        if other.decimals != self.decimals:
            raise ValueError(f"cannot mix amounts with {self.decimals} and {other.decimals} decimals")

    def __str__(self) -> str:
        return f"{self.tokens.normalize():f}"
