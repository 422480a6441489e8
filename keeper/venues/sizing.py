"""Order sizing and pricing for venue legs: pure arithmetic on `Decimal`.

This module owns the rules that turn a leg into orders a venue accepts: amounts rounded down to
the market's step (never trade more than asked), limit prices from the book with the configured
slippage and rounded to the tick in the safe direction, large orders split into slices below a
notional cap (seed 001 splits above $10k), the minimum amount and notional checks, and scaling
buys down to the cash a venue holds. No I/O, no floats.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from keeper.money import BPS
from keeper.venues.types import ZERO, Book, MarketRules, Side


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of `step` not above `value` (amounts: never more than asked)."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def round_up(value: Decimal, step: Decimal) -> Decimal:
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def limit_price(book: Book, side: Side, slippage_bps: int, tick: Decimal) -> Decimal | None:
    """A marketable limit price: the touch moved by `slippage_bps` against us, on the tick grid.

    A buy pays at most best ask x (1 + slippage), rounded DOWN to the tick (never more than the
    tolerance allows) but never below the best ask; a sell takes at least best bid x (1 -
    slippage), rounded UP, never above the best bid. None when that side of the book is empty.
    """
    if slippage_bps < 0:
        raise ValueError("slippage_bps must not be negative")
    factor = Decimal(slippage_bps) / BPS
    if side == "buy":
        touch = book.best_ask
        if touch is None:
            return None
        return max(round_down(touch * (1 + factor), tick), round_up(touch, tick))
    touch = book.best_bid
    if touch is None:
        return None
    return min(round_up(touch * (1 - factor), tick), round_down(touch, tick))


def worse_than(price: Decimal, bound: Decimal | None, side: Side) -> bool:
    """True when `price` breaks the leg's worst acceptable price."""
    if bound is None:
        return False
    return price > bound if side == "buy" else price < bound


def tradable(amount: Decimal, price: Decimal, rules: MarketRules) -> str | None:
    """None if the venue accepts `amount` at `price`; otherwise why not, in one line."""
    if amount <= 0:
        return "nothing left to trade"
    if amount < rules.min_amount:
        return f"{amount} {rules.base} is below the venue minimum of {rules.min_amount}"
    if rules.max_amount is not None and amount > rules.max_amount:
        return f"{amount} {rules.base} is above the venue maximum of {rules.max_amount}"
    if amount * price < rules.min_notional:
        return f"{amount * price} {rules.quote} is below the venue minimum notional of {rules.min_notional}"
    return None


def slice_amounts(
    amount: Decimal, price: Decimal, max_notional: Decimal | None, rules: MarketRules
) -> tuple[Decimal, ...]:
    """Split `amount` (base units) into near-equal slices of about `max_notional` quote at most.

    Every slice is a multiple of the step, slices differ by at most one step, and their sum is
    `amount` rounded down to the step; so each slice's notional is at most the cap plus one
    step's worth. When the cap would make slices too small to trade, there are fewer of them.
    The empty tuple means the whole amount is below what the venue accepts.
    """
    total = round_down(amount, rules.step)
    if tradable(total, price, rules) is not None:
        return ()
    cap = max_notional
    if rules.max_amount is not None:
        by_size = round_down(rules.max_amount, rules.step) * price
        cap = by_size if cap is None else min(cap, by_size)
    if cap is None or total * price <= cap:
        return (total,)
    units = int(total / rules.step)
    count = min(units, int(((total * price) / cap).to_integral_value(rounding=ROUND_CEILING)))
    while count > 1 and tradable(rules.step * (units // count), price, rules) is not None:
        count -= 1
    base, extra = divmod(units, count)
    return tuple(rules.step * (base + 1 if i < extra else base) for i in range(count))


def scale_to_cash(needed: Decimal, cash: Decimal) -> Decimal:
    """The factor (0..1) by which buys needing `needed` quote must shrink to fit `cash`."""
    if needed <= 0 or cash >= needed:
        return Decimal(1)
    if cash <= 0:
        return ZERO
    # Rounded down to 1e-8 so that needed x factor never exceeds the cash.
    return (cash / needed).quantize(Decimal("0.00000001"), rounding=ROUND_FLOOR)


def buy_cash_needed(amount: Decimal, price: Decimal, fee_rate: Decimal) -> Decimal:
    """Quote units a buy of `amount` at up to `price` may spend, with a fee margin."""
    return amount * price * (1 + fee_rate)
