"""ccxt's exceptions, translated once into the keeper's errors, by what must happen next.

This module owns the table that sorts every ccxt error class into an outcome, and the rule that
turns an outcome into a `keeper.errors` class for the kind of call that failed:

- a read (balances, books, order lookups): temporary trouble -> `TemporaryError` (retry);
- placing an order: anything that may have executed (timeouts, dropped connections, 5xx, garbled
  answers, unknown errors) -> `ReconcileError`: look the order up by its client id, never resend
  blindly; a refusal the venue states (insufficient funds, filters) -> `ExecutionReverted`;
  a rejection that provably executed nothing (429, 418, clock skew, maintenance) -> `TemporaryError`;
- cancelling: "not found" or an unknown outcome -> `ReconcileError` (look it up to learn the end).

Keys and permissions problems are `ConfigError` everywhere. Messages are one line and redacted.
It imports only ccxt's error module; nothing here talks to a venue.
"""

from __future__ import annotations

from enum import StrEnum

from ccxt.base import errors as cx

from keeper.errors import (
    ConfigError,
    ExecutionReverted,
    KeeperError,
    ReconcileError,
    TemporaryError,
)
from keeper.secrets import redact
from keeper.venues.retry import RateLimited
from keeper.venues.types import Op


class Outcome(StrEnum):
    CONFIG = "config"  # a human must fix keys, permissions, symbols or the call itself
    REFUSED = "refused"  # the venue looked at the order and said no
    NOT_FOUND = "not_found"  # no such order (lookups: absent; cancels: no longer open)
    DUPLICATE = "duplicate"  # an order with this client id exists: look it up
    RETRY = "retry"  # rejected before execution; the same request may be sent again later
    UNKNOWN = "unknown"  # may or may not have executed


# Most specific first is not needed: `outcome_of` walks the exception's MRO and takes the first
# class listed here. Every class in ccxt's error_hierarchy is listed (a test checks it).
OUTCOMES: dict[type[BaseException], Outcome] = {
    cx.AuthenticationError: Outcome.CONFIG,
    cx.PermissionDenied: Outcome.CONFIG,
    cx.AccountNotEnabled: Outcome.CONFIG,
    cx.AccountSuspended: Outcome.CONFIG,
    cx.ArgumentsRequired: Outcome.CONFIG,
    cx.NotSupported: Outcome.CONFIG,
    cx.InvalidProxySettings: Outcome.CONFIG,
    cx.ExchangeClosedByUser: Outcome.CONFIG,
    cx.InvalidAddress: Outcome.CONFIG,
    cx.AddressPending: Outcome.CONFIG,
    cx.BadSymbol: Outcome.CONFIG,
    cx.ManualInteractionNeeded: Outcome.CONFIG,
    cx.RestrictedLocation: Outcome.CONFIG,
    cx.BadRequest: Outcome.REFUSED,
    cx.InsufficientFunds: Outcome.REFUSED,
    cx.InvalidOrder: Outcome.REFUSED,
    cx.OrderImmediatelyFillable: Outcome.REFUSED,
    cx.OrderNotFillable: Outcome.REFUSED,
    cx.ContractUnavailable: Outcome.REFUSED,
    cx.OperationRejected: Outcome.REFUSED,
    cx.NoChange: Outcome.REFUSED,
    cx.MarginModeAlreadySet: Outcome.REFUSED,
    cx.OrderNotFound: Outcome.NOT_FOUND,
    cx.OrderNotCached: Outcome.NOT_FOUND,
    cx.DuplicateOrderId: Outcome.DUPLICATE,
    cx.RateLimitExceeded: Outcome.RETRY,
    cx.DDoSProtection: Outcome.RETRY,
    cx.InvalidNonce: Outcome.RETRY,
    cx.ChecksumError: Outcome.RETRY,
    cx.OnMaintenance: Outcome.RETRY,
    cx.MarketClosed: Outcome.RETRY,
    cx.RequestTimeout: Outcome.UNKNOWN,
    cx.ExchangeNotAvailable: Outcome.UNKNOWN,
    cx.NetworkError: Outcome.UNKNOWN,
    cx.BadResponse: Outcome.UNKNOWN,
    cx.NullResponse: Outcome.UNKNOWN,
    cx.CancelPending: Outcome.UNKNOWN,
    cx.OperationFailed: Outcome.UNKNOWN,
    cx.ExchangeError: Outcome.UNKNOWN,
    cx.UnsubscribeError: Outcome.UNKNOWN,
    cx.BaseError: Outcome.UNKNOWN,
}


def outcome_of(error: BaseException) -> Outcome:
    """The outcome of any exception; anything ccxt did not classify is UNKNOWN (the safe side)."""
    for cls in type(error).__mro__:
        if cls in OUTCOMES:
            return OUTCOMES[cls]
    return Outcome.UNKNOWN


def summary(error: BaseException, limit: int = 240) -> str:
    """The error's message on one line, redacted and shortened."""
    text = " ".join(str(error).split()) or type(error).__name__
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def translate(
    error: BaseException,
    *,
    venue: str,
    op: Op,
    what: str,
    retry_after_s: float | None = None,
) -> KeeperError:
    """The keeper error for `error` raised while doing `what` (e.g. "place order k1..") on `venue`."""
    outcome = outcome_of(error)
    kind = type(error).__name__
    line = f"{venue}: {what}: {kind}: {summary(error)}"
    if outcome is Outcome.CONFIG:
        return ConfigError(
            f"{line} (check the API key, its permissions and the symbol in keeper.yaml)"
        )
    if outcome is Outcome.RETRY:
        if isinstance(error, (cx.DDoSProtection, cx.RateLimitExceeded)):
            return RateLimited(line, retry_after_s=retry_after_s)
        return TemporaryError(line)
    if op is Op.READ:
        if outcome is Outcome.UNKNOWN:
            return TemporaryError(line)
        return ConfigError(line)
    if op is Op.PLACE:
        if outcome is Outcome.REFUSED:
            return ExecutionReverted(line, reason=kind)
        if outcome is Outcome.NOT_FOUND:
            return ExecutionReverted(line, reason=kind)
        return ReconcileError(line)  # UNKNOWN or DUPLICATE: look the client id up
    # Op.CANCEL: whatever it was, the order's true state must be read back.
    return ReconcileError(line)
