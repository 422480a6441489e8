"""ccxt's errors are translated once, by what must happen next, for every class ccxt has."""

from __future__ import annotations

import pytest
from ccxt.base import errors as cx

from keeper.errors import ConfigError, ExecutionReverted, ReconcileError, TemporaryError
from keeper.secrets import forget_all, register
from keeper.venues.ccxt_errors import OUTCOMES, Op, Outcome, outcome_of, translate
from keeper.venues.retry import RateLimited


def _all_classes(tree: dict | None = None) -> list[type]:
    tree = cx.error_hierarchy if tree is None else tree
    out = []
    for name, children in tree.items():
        out.append(getattr(cx, name))
        out.extend(_all_classes(children))
    return out


ALL = _all_classes()

# May the request have executed at the venue when this error is raised? Written from the venues'
# documentation (Binance: "5XX ... the execution status is UNKNOWN"; 429/418 are refusals),
# independently of the adapter's table.
MAY_HAVE_EXECUTED = {
    cx.NetworkError,
    cx.RequestTimeout,
    cx.ExchangeNotAvailable,
    cx.BadResponse,
    cx.NullResponse,
    cx.OperationFailed,
    cx.ExchangeError,
    cx.BaseError,
    cx.CancelPending,
    cx.UnsubscribeError,
}


def test_outcomes__every_ccxt_error_class__is_classified():
    missing = [c.__name__ for c in ALL if c not in OUTCOMES]
    assert missing == []


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_translate__place_error_that_may_have_executed__demands_reconcile(cls):
    error = translate(cls("boom"), venue="binance", op=Op.PLACE, what="place k1")
    if cls in MAY_HAVE_EXECUTED:
        assert isinstance(error, ReconcileError)
    else:
        assert not isinstance(error, TemporaryError) or outcome_of(cls("x")) is Outcome.RETRY


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_translate__any_class_any_op__one_line_keeper_error(cls):
    for op in Op:
        error = translate(cls("line one\nline two"), venue="okx", op=op, what="do it")
        assert error.one_line() == str(error)
        assert str(error).startswith("okx: do it: ")


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (cx.InsufficientFunds, ExecutionReverted),
        (cx.InvalidOrder, ExecutionReverted),
        (cx.AuthenticationError, ConfigError),
        (cx.PermissionDenied, ConfigError),
        (cx.BadSymbol, ConfigError),
        (cx.RateLimitExceeded, RateLimited),
        (cx.DDoSProtection, RateLimited),
        (cx.InvalidNonce, TemporaryError),
        (cx.RequestTimeout, ReconcileError),
        (cx.ExchangeNotAvailable, ReconcileError),
        (cx.DuplicateOrderId, ReconcileError),
    ],
)
def test_translate__place__expected_class(cls, expected):
    assert type(translate(cls("x"), venue="v", op=Op.PLACE, what="p")) is expected


@pytest.mark.parametrize(
    "cls", [cx.RequestTimeout, cx.ExchangeNotAvailable, cx.NetworkError, cx.BadResponse]
)
def test_translate__read_timeout__temporary(cls):
    assert type(translate(cls("x"), venue="v", op=Op.READ, what="r")) is TemporaryError


@pytest.mark.parametrize("cls", [cx.OrderNotFound, cx.RequestTimeout, cx.InvalidOrder])
def test_translate__cancel_not_found_or_unknown__reconcile(cls):
    assert isinstance(translate(cls("x"), venue="v", op=Op.CANCEL, what="c"), ReconcileError)


def test_translate__rate_limit__carries_retry_after():
    error = translate(cx.DDoSProtection("418"), venue="v", op=Op.READ, what="r", retry_after_s=7)
    assert isinstance(error, RateLimited) and error.retry_after_s == 7


def test_outcome_of__unknown_exception__unknown():
    assert outcome_of(RuntimeError("aiohttp leaked")) is Outcome.UNKNOWN


def test_translate__message_with_registered_secret__redacted():
    register("sk-live-1234567890")
    try:
        error = translate(
            cx.AuthenticationError("bad key sk-live-1234567890"), venue="v", op=Op.READ, what="r"
        )
        assert "sk-live-1234567890" not in str(error)
    finally:
        forget_all()


def test_translate__broken_table_calling_timeouts_refusals__caught_by_reality_check(monkeypatch):
    """The reality check above bites: a table that treats a timeout as a refusal fails it."""
    monkeypatch.setitem(OUTCOMES, cx.RequestTimeout, Outcome.REFUSED)
    error = translate(cx.RequestTimeout("x"), venue="v", op=Op.PLACE, what="p")
    assert not isinstance(error, ReconcileError)
