"""The keeper's errors, grouped by what has to happen next.

Third-party errors (web3, httpx, ccxt, sqlite) are translated once, at the adapter that calls the
third party, with `raise ... from e`. Everything above the adapters sees only these classes:

- `ConfigError`: a human must act (a wrong field, a missing secret). Stop; say the fix in one line.
- `TemporaryError`: the world hiccuped (timeout, 429, 5xx, a dropped connection). Retry with backoff.
- `ReconcileError`: the outcome of something already sent is unknown (an order or transaction that
  timed out). Look it up before doing anything else; never blindly retry.
- `ExecutionReverted`: the chain or the venue refused the action. Keep the transaction and reason.
- `HaltError`: stop the keeper now (kill switch, failure budget spent, invariant broken).
- `NotAvailable`: a capability that does not exist on this platform or configuration.

Messages never contain secrets: adapters pass them through `keeper.secrets.redact` first.
"""

from __future__ import annotations


class KeeperError(Exception):
    """Base of every error the keeper raises on purpose."""

    #: One line for a human: what is wrong and how to fix it.
    def one_line(self) -> str:
        return str(self).splitlines()[0] if str(self) else type(self).__name__


class ConfigError(KeeperError):
    """A human must act: wrong configuration, missing secret, bad command-line input."""


class TemporaryError(KeeperError):
    """A transient failure of a remote service; retrying later may succeed."""


class ReconcileError(KeeperError):
    """The outcome of a sent action is unknown: look it up before acting again."""


class ExecutionReverted(KeeperError):
    """The chain or venue refused the action; `reason` is what it said."""

    def __init__(self, message: str, *, reason: str | None = None, tx_hash: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.tx_hash = tx_hash


class HaltError(KeeperError):
    """Stop the keeper now."""


class NotAvailable(KeeperError):
    """A capability that this platform or configuration does not have."""
