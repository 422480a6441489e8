"""Submission: nonces, sending through a relay, waiting for inclusion, replacing a stuck transaction.

Owns the life of one on-chain transaction from signing to receipt:
- `NonceManager` hands out nonces locally and reconciles them with the chain (the chain's count
  wins when it is ahead; a nonce whose transaction never left is given back);
- `Submitter.submit` signs, sends through the configured `Relay`, and follows blocks: it checks
  receipts of every version it signed, lets the relay retarget (bundles), and after
  `replace_after_blocks` without inclusion signs a replacement with BOTH fee fields raised by at
  least 12.5%, never above the cap (`keeper.signals.gas.bump_fees`); at the cap it waits;
- an ambiguous send (the answer was lost) is never blindly repeated: the submitter first looks the
  hash up (receipt, node, relay) and only then re-sends the identical signed bytes, which cannot
  execute twice (same nonce, same hash).

It does not choose the first fees (the gas policy does), build calldata (the batch builder does),
or journal (the runner does). Amounts are wei; blocks are block numbers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from eth_utils import is_address, to_checksum_address

from keeper.chain.rpc import RpcClient, RpcError
from keeper.errors import ExecutionReverted, ReconcileError, TemporaryError
from keeper.execution.signer import SignedTx, Signer
from keeper.relays.base import Relay, RelayStatus
from keeper.signals.gas import MIN_REPLACEMENT_BUMP_BPS, bump_fees

log = logging.getLogger(__name__)

#: Node messages that mean "not accepted now, for its fees": the transaction was not sent.
_UNDERPRICED = (
    "underpriced",
    "less than block base fee",
    "fee cap less than",
    "max fee per gas less than",
)


@dataclass(frozen=True, slots=True)
class TxRequest:
    """What to send: the call (to, 0x data, value in wei) and its gas limit (units)."""

    chain_id: int
    to: str
    data: str
    gas_limit: int
    value_wei: int = 0

    def __post_init__(self) -> None:
        if not is_address(self.to):
            raise ValueError(f"transaction to {self.to!r} is not an address")
        object.__setattr__(self, "to", to_checksum_address(self.to))
        if self.gas_limit <= 0 or self.value_wei < 0:
            raise ValueError("gas_limit must be positive and value_wei non-negative")


@dataclass(frozen=True, slots=True)
class SubmitPolicy:
    """`replace_after_blocks`: blocks to wait before a replacement; `deadline_blocks`: blocks after
    the first send to give up (as `ReconcileError`: the nonce may still be filled later);
    `bump_bps`: the replacement bump (12.5% at least)."""

    replace_after_blocks: int = 2
    deadline_blocks: int = 25
    bump_bps: int = MIN_REPLACEMENT_BUMP_BPS


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The included transaction and what it took: every hash signed (oldest first), in which block,
    gas used and the effective gas price (wei)."""

    tx_hash: str
    nonce: int
    block_number: int
    gas_used: int
    effective_gas_price_wei: int
    attempts: tuple[str, ...]
    receipt: dict[str, Any]

    @property
    def replacements(self) -> int:
        return len(self.attempts) - 1


class BlockClock(Protocol):
    def wait_for_block(self, after: int) -> int:
        """Block until the chain is past block `after`; return the new head's number."""
        ...


class PollingClock:
    """Waits for new blocks by polling `eth_blockNumber` every `poll_interval_s` seconds."""

    def __init__(
        self, rpc: RpcClient, *, poll_interval_s: float = 1.0, timeout_s: float = 120.0
    ) -> None:
        self.rpc = rpc
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s

    def wait_for_block(self, after: int) -> int:
        deadline = time.monotonic() + self.timeout_s
        while (head := self.rpc.block_number()) <= after:
            if time.monotonic() > deadline:
                raise TemporaryError(
                    f"no new block after {after} within {self.timeout_s} s; is the node syncing?"
                )
            time.sleep(self.poll_interval_s)
        return head


class NonceManager:
    """Nonces of one address: handed out locally, reconciled with the chain."""

    def __init__(self, rpc: RpcClient, address: str) -> None:
        self.rpc = rpc
        self.address = address
        self._next: int | None = None
        self._open: set[int] = set()

    def reconcile(self) -> int:
        """Line up with the chain: nonces below the mined count are settled; with nothing open the
        next nonce is max(mined count, node's pending count). Returns the next nonce."""
        mined = self.rpc.get_transaction_count(self.address, "latest")
        self._open = {n for n in self._open if n >= mined}
        if not self._open:
            pending = self.rpc.get_transaction_count(self.address, "pending")
            self._next = max(mined, pending)
        else:
            self._next = max(self._next or 0, mined)
        return self._next

    def reserve(self) -> int:
        if self._next is None:
            self.reconcile()
        assert self._next is not None
        nonce = self._next
        self._next += 1
        self._open.add(nonce)
        return nonce

    def release(self, nonce: int) -> None:
        """`nonce`'s transaction never left: hand it out again (if it is the latest)."""
        self._open.discard(nonce)
        if self._next is not None and nonce == self._next - 1:
            self._next = nonce

    def settle(self, nonce: int) -> None:
        """`nonce` is mined."""
        self._open.discard(nonce)


class Submitter:
    """Sends transactions for one signer through one relay and sees them included."""

    def __init__(
        self,
        rpc: RpcClient,
        relay: Relay,
        signer: Signer,
        *,
        nonces: NonceManager | None = None,
        clock: BlockClock | None = None,
        policy: SubmitPolicy | None = None,
    ) -> None:
        self.rpc = rpc
        self.relay = relay
        self.signer = signer
        self.nonces = nonces or NonceManager(rpc, signer.address)
        self.clock = clock or PollingClock(rpc)
        self.policy = policy or SubmitPolicy()

    def submit(
        self, request: TxRequest, *, max_fee_wei: int, priority_fee_wei: int, cap_wei: int
    ) -> SubmitResult:
        """Send `request` and return once it is included; replacements never exceed `cap_wei` per gas.

        Raises `ExecutionReverted` if it was mined but reverted, `ReconcileError` if its nonce was
        used by another transaction or it is not included by the deadline (the nonce is then still
        open and may yet be filled: look it up before planning again).
        """
        if max_fee_wei > cap_wei:
            raise ValueError("max_fee_wei is above the cap; the gas policy must clamp it")
        head = self.rpc.block_number()
        deadline = head + self.policy.deadline_blocks
        nonce = self.nonces.reserve()
        attempts: list[SignedTx] = [self._sign(request, nonce, max_fee_wei, priority_fee_wei)]
        try:
            sent = self._broadcast(attempts[-1], head, deadline)
        except RpcError:  # refused outright (e.g. insufficient funds): the nonce was not used
            self.nonces.release(nonce)
            raise
        last_send_block = head
        block = head
        while True:
            result = self._included(attempts, nonce)
            if result is not None:
                return result
            if block >= deadline:
                raise ReconcileError(
                    f"transaction nonce {nonce} of {self.signer.address} not included by block {deadline}; "
                    f"it may still land: look up {', '.join(a.tx_hash for a in attempts)} before re-planning"
                )
            block = self.clock.wait_for_block(block)
            result = self._included(attempts, nonce)
            if result is not None:
                return result
            latest = attempts[-1]
            if sent:
                sent = self._still_alive(latest)
            if sent:
                try:
                    self.relay.on_block(block, [latest.raw], deadline_block=deadline)
                except ReconcileError as e:
                    log.warning(
                        "retarget of %s: %s; will check on the next block",
                        latest.tx_hash,
                        e.one_line(),
                    )
            due = not sent or block - last_send_block >= self.policy.replace_after_blocks
            if not due:
                continue
            bumped = bump_fees(
                latest.max_fee_wei,
                latest.priority_fee_wei,
                cap_wei=cap_wei,
                bump_bps=self.policy.bump_bps,
            )
            if bumped is None:
                log.warning(
                    "tx %s not included after %d blocks and its fees are at the cap (%d wei); waiting",
                    latest.tx_hash,
                    block - last_send_block,
                    cap_wei,
                )
                if not sent:
                    sent = self._broadcast(latest, block, deadline)
                continue
            replacement = self._sign(request, nonce, *bumped)
            attempts.append(replacement)
            log.info(
                "replacing %s with %s: max fee %d -> %d wei, tip %d -> %d wei",
                latest.tx_hash,
                replacement.tx_hash,
                latest.max_fee_wei,
                bumped[0],
                latest.priority_fee_wei,
                bumped[1],
            )
            sent = self._broadcast(replacement, block, deadline)
            last_send_block = block

    # ---------------------------------------------------------------------------------------------

    def _sign(
        self, request: TxRequest, nonce: int, max_fee_wei: int, priority_fee_wei: int
    ) -> SignedTx:
        return self.signer.sign_transaction(
            {
                "type": 2,
                "chainId": request.chain_id,
                "nonce": nonce,
                "to": request.to,
                "value": request.value_wei,
                "data": request.data,
                "gas": request.gas_limit,
                "maxFeePerGas": max_fee_wei,
                "maxPriorityFeePerGas": priority_fee_wei,
            }
        )

    def _broadcast(self, signed: SignedTx, block: int, deadline: int) -> bool:
        """Send `signed`; True if it is (or may be) out there, False if it was refused for its fees."""
        try:
            self.relay.send(signed.raw, current_block=block, deadline_block=deadline)
        except ReconcileError as e:
            log.warning(
                "send of %s via %s: %s; looking it up",
                signed.tx_hash,
                self.relay.name,
                e.one_line(),
            )
            if self._known(signed):
                return True
            log.warning(
                "%s is unknown after the lost answer; re-sending the identical bytes (same nonce %d)",
                signed.tx_hash,
                signed.nonce,
            )
            try:
                self.relay.send(signed.raw, current_block=block, deadline_block=deadline)
            except ReconcileError as again:
                log.warning(
                    "re-send of %s: %s; will check on the next block",
                    signed.tx_hash,
                    again.one_line(),
                )
            except RpcError as refused:
                return self._refused(signed, refused)
            return True
        except RpcError as e:
            return self._refused(signed, e)
        log.info(
            "sent %s (nonce %d) via %s: max fee %d wei, tip %d wei",
            signed.tx_hash,
            signed.nonce,
            self.relay.name,
            signed.max_fee_wei,
            signed.priority_fee_wei,
        )
        return True

    def _refused(self, signed: SignedTx, error: RpcError) -> bool:
        message = error.rpc_message.lower()
        if any(p in message for p in _UNDERPRICED):
            log.warning(
                "%s refused for its fees (%s); will raise them", signed.tx_hash, error.rpc_message
            )
            return False
        if "nonce too low" in message:
            return True  # something with this nonce is mined: `_included` decides whose it is
        raise error

    def _known(self, signed: SignedTx) -> bool:
        """Is `signed` on chain, in the node's mempool, or held by the relay?"""
        if self.rpc.get_receipt(signed.tx_hash) or self.rpc.get_transaction(signed.tx_hash):
            return True
        try:
            return self.relay.status(signed.tx_hash) in (RelayStatus.PENDING, RelayStatus.INCLUDED)
        except TemporaryError:
            return False

    def _still_alive(self, signed: SignedTx) -> bool:
        """False when the transaction is gone (dropped by the mempool, failed or expired at the relay)."""
        if self.rpc.get_transaction(signed.tx_hash):
            return True
        try:
            status = self.relay.status(signed.tx_hash)
        except TemporaryError:
            return True  # cannot tell: assume alive, check again next block
        return status in (RelayStatus.PENDING, RelayStatus.INCLUDED)

    def _included(self, attempts: list[SignedTx], nonce: int) -> SubmitResult | None:
        """The result if one of `attempts` is mined; ReconcileError if the nonce went to another tx."""
        mined = self.rpc.get_transaction_count(self.signer.address, "latest")
        if mined <= nonce:
            return None
        for signed in reversed(attempts):
            receipt = self.rpc.get_receipt(signed.tx_hash)
            if receipt is None:
                continue
            self.nonces.settle(nonce)
            if receipt.get("status") != "0x1":
                raise ExecutionReverted(
                    f"transaction {signed.tx_hash} reverted on chain",
                    reason="reverted",
                    tx_hash=signed.tx_hash,
                )
            result = SubmitResult(
                tx_hash=signed.tx_hash,
                nonce=nonce,
                block_number=int(receipt["blockNumber"], 16),
                gas_used=int(receipt["gasUsed"], 16),
                effective_gas_price_wei=int(receipt.get("effectiveGasPrice", "0x0"), 16),
                attempts=tuple(a.tx_hash for a in attempts),
                receipt=receipt,
            )
            log.info(
                "included %s in block %d after %d replacement(s)",
                signed.tx_hash,
                result.block_number,
                result.replacements,
            )
            return result
        self.nonces.settle(nonce)
        self.nonces.reconcile()
        raise ReconcileError(
            f"nonce {nonce} of {self.signer.address} was used by a transaction the keeper did not sign here; "
            "look it up before planning again"
        )
