"""Quotes: the value every quote source returns, the interface a source implements, and the
gathering of quotes from several sources.

A `Quote` is an executable swap offer: how much `token_out` (raw units) a given `amount_in_raw` of
`token_in` buys, the router to call with which calldata and value, the address to approve, and the
source's gas estimate. Sources (1inch, 0x, Odos over HTTP; Uniswap QuoterV2 on-chain) implement
`QuoteSource`. `keeper.quotes.choose` picks among quotes; this module does no I/O itself and
imports no HTTP or chain library: `collect_quotes` only calls the sources it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from eth_utils import is_address, to_checksum_address

from keeper.errors import ConfigError, KeeperError, NotAvailable, TemporaryError

log = logging.getLogger(__name__)


class NoRoute(NotAvailable):
    """The source has no route for this pair and amount (no liquidity, unsupported token or chain)."""


class BadQuote(TemporaryError):
    """The source answered something that is not a usable quote (wrong shape, or not what was asked)."""


def checksum(address: str, what: str) -> str:
    """`address` checksummed, or one clear error naming `what`."""
    if not isinstance(address, str) or not is_address(address):
        raise ConfigError(f"{what}: {address!r} is not an address (want 0x and 40 hex digits)")
    return to_checksum_address(address)


def raw_int(value: object, field: str, source: str) -> int:
    """A raw amount or gas figure from an API answer: an int, a decimal string, or a JSON number
    with no fraction (Odos sends gas as 1664024.0). Anything else is a `BadQuote`."""
    if isinstance(value, bool):
        raise BadQuote(f"{source}: {field} is not a number ({value!r})")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise BadQuote(f"{source}: {field} is not a whole number ({value!r})")


@dataclass(frozen=True, slots=True)
class Quote:
    """An offer to swap `amount_in_raw` of `token_in` for `amount_out_raw` of `token_out`.

    Amounts are raw token units. `router` is the transaction's `to`, `calldata` its data (0x hex;
    empty for an indicative price that cannot be executed), `value_wei` the native value to send,
    `spender` the address that needs the ERC-20 allowance, `gas_estimate` the source's gas units.
    `source_min_out_raw` is the minimum the source baked into its calldata (its own slippage), if
    it said; the keeper's own minimum comes from `keeper.quotes.choose.min_out`.
    """

    source: str
    chain_id: int
    token_in: str
    token_out: str
    amount_in_raw: int
    amount_out_raw: int
    router: str
    spender: str
    calldata: str
    value_wei: int
    gas_estimate: int
    source_min_out_raw: int | None = None
    quote_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("chain_id", "amount_in_raw", "amount_out_raw", "value_wei", "gas_estimate"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise BadQuote(
                    f"{self.source} quote: {name} must be a non-negative int, got {value!r}"
                )
        if self.calldata and not self.calldata.startswith("0x"):
            raise BadQuote(f"{self.source} quote: calldata must be 0x-prefixed hex")

    @property
    def executable(self) -> bool:
        """True when the quote carries a router and calldata (not just an indicative price)."""
        return bool(self.router and self.calldata and len(self.calldata) > 2)


@runtime_checkable
class QuoteSource(Protocol):
    """Anything that can quote a swap. `taker` is the address that will hold the tokens and send
    the swap (for the keeper: the BatchRebalancer contract)."""

    name: str

    def quote(
        self, chain_id: int, token_in: str, token_out: str, amount_in_raw: int, taker: str
    ) -> Quote:
        """An executable quote, or `NoRoute`/`TemporaryError`/`ConfigError`."""
        ...


@dataclass(frozen=True, slots=True)
class QuoteFailure:
    source: str
    error: str
    kind: str  # the keeper error class name


def collect_quotes(
    sources: Iterable[QuoteSource],
    chain_id: int,
    token_in: str,
    token_out: str,
    amount_in_raw: int,
    taker: str,
) -> tuple[list[Quote], list[QuoteFailure]]:
    """Ask every source; keep the quotes and say why each other source gave none.

    A `ConfigError` (a missing or refused API key) is not swallowed: a human must fix it.
    """
    quotes: list[Quote] = []
    failures: list[QuoteFailure] = []
    for source in sources:
        try:
            quotes.append(source.quote(chain_id, token_in, token_out, amount_in_raw, taker))
        except ConfigError:
            raise
        except KeeperError as e:
            log.warning("quote from %s failed: %s", source.name, e.one_line())
            failures.append(QuoteFailure(source.name, e.one_line(), type(e).__name__))
    return quotes, failures
