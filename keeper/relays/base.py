"""What every submission mode offers the submitter: send a signed transaction, follow blocks, and
say what it knows about a transaction.

Modes: `public.PublicMempool` (the node), `private.FlashbotsProtect` and `private.MevBlocker`
(private RPCs with a status API), `flashbots.BundleRelay` (bundles retargeted every block).
This module holds only the interface and the status vocabulary; it does no I/O. Inclusion is
always confirmed on chain by the submitter (a receipt); a relay's status only adds what the chain
cannot show (pending privately, failed simulation, expired).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable


class RelayStatus(StrEnum):
    PENDING = "PENDING"  # held by the relay or a mempool, may still land
    INCLUDED = "INCLUDED"  # the relay saw it in a block (confirm with a receipt)
    FAILED = "FAILED"  # will not land as sent (simulation failed, expired)
    CANCELLED = "CANCELLED"  # replaced or cancelled
    UNKNOWN = "UNKNOWN"  # the relay does not know this hash (dropped, or never arrived)

    @classmethod
    def parse(cls, value: object) -> RelayStatus:
        try:
            return cls(str(value).upper())
        except ValueError:
            return cls.UNKNOWN


@runtime_checkable
class Relay(Protocol):
    """A submission mode. `send` is called once per signed transaction (a replacement is a new
    signed transaction); `on_block` after every new block while a transaction is open."""

    name: str

    def send(self, raw_tx: bytes, *, current_block: int, deadline_block: int) -> str:
        """Submit `raw_tx`; return its hash. A lost answer raises `ReconcileError`."""
        ...

    def on_block(self, block: int, open_raw_txs: list[bytes], *, deadline_block: int) -> None:
        """A new block arrived and `open_raw_txs` are not included yet (bundles retarget here)."""
        ...

    def status(self, tx_hash: str) -> RelayStatus:
        """What the relay knows about `tx_hash`."""
        ...
