"""Choosing a route (PURE): the best quote net of gas, and the minimum output to accept.

Owns: converting each quote's gas cost into the output token, ranking quotes by output net of
gas, and `min_out = amount_out x (1 - slippage)`. It takes quotes already fetched and plain
prices; it must not fetch anything, read a clock or log.
Prices are `Decimal` USD; amounts are raw integer units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext

from keeper.money import MONEY_CONTEXT
from keeper.quotes.base import BadQuote, NoRoute, Quote

WEI_PER_ETH = 10**18


def min_out(amount_out_raw: int, slippage_bps: int) -> int:
    """The least output (raw units) to accept: `amount_out x (1 - slippage_bps / 10_000)`, rounded
    down, so a quote met exactly always passes its own check."""
    if not 0 <= slippage_bps < 10_000:
        raise ValueError(f"slippage_bps must be within 0..9999, got {slippage_bps}")
    if amount_out_raw < 0:
        raise ValueError("amount_out_raw cannot be negative")
    return amount_out_raw * (10_000 - slippage_bps) // 10_000


def out_raw_per_wei(eth_usd: Decimal, token_out_usd: Decimal, token_out_decimals: int) -> Decimal:
    """How many raw units of the output token one wei of the native coin is worth."""
    if eth_usd <= 0 or token_out_usd <= 0:
        raise ValueError("prices must be positive")
    with localcontext(MONEY_CONTEXT):
        return eth_usd / token_out_usd * Decimal(10) ** token_out_decimals / WEI_PER_ETH


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """The chosen quote with its gas cost (wei and output raw units), net output and minimum."""

    quote: Quote
    gas_cost_wei: int
    gas_cost_out_raw: int
    net_out_raw: int
    min_out_raw: int


def rank(
    quotes: Iterable[Quote],
    *,
    gas_price_wei: int,
    rate_out_raw_per_wei: Decimal,
    slippage_bps: int,
    l1_fee_wei: Mapping[str, int] | None = None,
) -> list[RouteChoice]:
    """Every executable quote with its cost, best first.

    Cost = gas_estimate x gas_price_wei (+ the L1 data fee of that source's calldata on an L2,
    from `l1_fee_wei[source]`), converted to the output token and rounded up (a cost is never
    understated). Ties go to the lower gas estimate, then to the source name, so the choice is
    deterministic. All quotes must be for the same chain, pair and input amount.
    """
    quotes = [q for q in quotes if q.executable]
    if not quotes:
        raise NoRoute("no executable quote to choose from")
    first = quotes[0]
    key = (first.chain_id, first.token_in.lower(), first.token_out.lower(), first.amount_in_raw)
    choices = []
    for q in quotes:
        if (q.chain_id, q.token_in.lower(), q.token_out.lower(), q.amount_in_raw) != key:
            raise BadQuote(
                f"{q.source} quote is for a different swap than {first.source}'s; compare like with like"
            )
        cost_wei = q.gas_estimate * gas_price_wei + (l1_fee_wei or {}).get(q.source, 0)
        with localcontext(MONEY_CONTEXT) as ctx:
            ctx.rounding = ROUND_CEILING
            cost_out = int((Decimal(cost_wei) * rate_out_raw_per_wei).to_integral_value())
        choices.append(
            RouteChoice(
                q,
                cost_wei,
                cost_out,
                q.amount_out_raw - cost_out,
                min_out(q.amount_out_raw, slippage_bps),
            )
        )
    choices.sort(key=lambda c: (-c.net_out_raw, c.quote.gas_estimate, c.quote.source))
    return choices


def choose_best(
    quotes: Iterable[Quote],
    *,
    gas_price_wei: int,
    eth_usd: Decimal,
    token_out_usd: Decimal,
    token_out_decimals: int,
    slippage_bps: int,
    l1_fee_wei: Mapping[str, int] | None = None,
) -> RouteChoice:
    """The quote with the most output net of gas, and the minimum output to demand from it."""
    return rank(
        quotes,
        gas_price_wei=gas_price_wei,
        rate_out_raw_per_wei=out_raw_per_wei(eth_usd, token_out_usd, token_out_decimals),
        slippage_bps=slippage_bps,
        l1_fee_wei=l1_fee_wei,
    )[0]
