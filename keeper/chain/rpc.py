"""JSON-RPC to a node: reads retried with backoff, sends never retried blindly.

This module owns the keeper's JSON-RPC client (`RpcClient`) and its error translation:

- reads (`call`) retry timeouts, dropped connections, 429, 5xx and the node's "try later" errors,
  then raise `TemporaryError`;
- `send_raw_transaction` is tried once. If its answer is lost (timeout, reset, 429, 5xx), it
  raises `SendOutcomeUnknown` (a `ReconcileError`) carrying the transaction hash, computed
  locally from the signed bytes: the caller checks that hash on chain before anything else;
- a JSON-RPC error answer is definitive and raises `RpcError` (an `ExecutionReverted`) with the
  node's code, message and revert data.

It does not sign, choose fees or manage nonces (`keeper.execution` does), and it holds no secret:
signed transactions are public once sent.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from typing import Any

import httpx
from eth_utils import keccak

from keeper.errors import ExecutionReverted, ReconcileError, TemporaryError
from keeper.http import RetryPolicy, request_json
from keeper.secrets import redact

log = logging.getLogger(__name__)

#: JSON-RPC error codes and phrases with which nodes and providers say "later", not "no".
_TRANSIENT_CODES = frozenset({-32005, -32603, 429})
_TRANSIENT_PHRASES = ("rate limit", "too many requests", "header not found", "timeout", "try again")
#: Phrases with which a node says it already has this exact transaction.
_ALREADY_KNOWN = ("already known", "already imported", "known transaction")


class RpcError(ExecutionReverted):
    """The node answered with a JSON-RPC error (a refusal, not a hiccup)."""

    def __init__(self, method: str, code: int | None, message: str, data: Any = None):
        super().__init__(redact(f"{method}: node refused: {message} (code {code})"), reason=message)
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data


class SendOutcomeUnknown(ReconcileError):
    """A raw transaction was sent but its answer was lost: look up `tx_hash` before anything else."""

    def __init__(self, message: str, tx_hash: str):
        super().__init__(message)
        self.tx_hash = tx_hash


def tx_hash_of(raw_tx: bytes | str) -> str:
    """The hash (0x hex) of a signed raw transaction: keccak256 of its bytes."""
    return "0x" + keccak(_raw_bytes(raw_tx)).hex()


def _raw_bytes(raw_tx: bytes | str) -> bytes:
    if isinstance(raw_tx, bytes):
        return raw_tx
    return bytes.fromhex(raw_tx.removeprefix("0x"))


class RpcClient:
    """A node's JSON-RPC endpoint over HTTP.

    `timeout_s` bounds each HTTP request (seconds). `retry` governs reads only.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
        name: str = "node",
    ) -> None:
        self.url = url
        self.name = name
        self.retry = retry or RetryPolicy()
        self._client = client or httpx.Client(timeout=timeout_s)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------
    # core

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """A read: retried on transient failures; a JSON-RPC error raises `RpcError`."""
        for attempt in range(self.retry.attempts):
            body = self._post(method, params, idempotent=True)
            error = body.get("error")
            if error is None:
                return body.get("result")
            if _is_transient(error) and attempt + 1 < self.retry.attempts:
                pause = self.retry.delay(attempt)
                log.warning(
                    "%s %s: %s, retry %d/%d",
                    self.name,
                    method,
                    error.get("message"),
                    attempt + 1,
                    self.retry.attempts - 1,
                )
                self.retry.sleep(pause)
                continue
            if _is_transient(error):
                raise TemporaryError(
                    redact(f"{self.name} {method}: {error.get('message')}; try again later")
                )
            raise RpcError(method, error.get("code"), str(error.get("message")), error.get("data"))
        raise AssertionError("unreachable")  # the loop returns or raises

    def send_raw_transaction(self, raw_tx: bytes | str) -> str:
        """Broadcast a signed transaction ONCE and return its hash.

        "already known" counts as success (the node has this exact transaction). A lost answer
        raises `SendOutcomeUnknown` with the hash; a refusal raises `RpcError`.
        """
        tx_hash = tx_hash_of(raw_tx)
        raw_hex = "0x" + _raw_bytes(raw_tx).hex()
        try:
            body = self._post("eth_sendRawTransaction", [raw_hex], idempotent=False)
        except ReconcileError as e:
            raise SendOutcomeUnknown(f"{e} (tx {tx_hash})", tx_hash) from e
        error = body.get("error")
        if error is None:
            returned = body.get("result")
            if isinstance(returned, str) and returned.lower() != tx_hash:
                log.warning("%s returned hash %s for tx %s", self.name, returned, tx_hash)
            return tx_hash
        message = str(error.get("message", ""))
        if any(phrase in message.lower() for phrase in _ALREADY_KNOWN):
            return tx_hash
        raise RpcError("eth_sendRawTransaction", error.get("code"), message, error.get("data"))

    def _post(self, method: str, params: Sequence[Any], *, idempotent: bool) -> dict[str, Any]:
        payload = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": method,
            "params": list(params),
        }
        answer = request_json(
            self._client,
            "POST",
            self.url,
            what=f"{self.name} {method}",
            idempotent=idempotent,
            retry=self.retry,
            content=json.dumps(payload),
            headers={"content-type": "application/json"},
        )
        if not isinstance(answer.body, dict) or (
            "result" not in answer.body and "error" not in answer.body
        ):
            detail = f"HTTP {answer.status}: {answer.text[:120]!r}"
            if idempotent:
                raise TemporaryError(
                    redact(f"{self.name} {method}: not a JSON-RPC answer ({detail})")
                )
            raise ReconcileError(redact(f"{self.name} {method}: not a JSON-RPC answer ({detail})"))
        return answer.body

    # ---------------------------------------------------------------------------------------
    # typed reads

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def get_block(self, block: str | int = "latest") -> dict[str, Any] | None:
        return self.call("eth_getBlockByNumber", [_block_tag(block), False])

    def get_transaction_count(self, address: str, block: str | int = "latest") -> int:
        return int(self.call("eth_getTransactionCount", [address, _block_tag(block)]), 16)

    def get_transaction(self, tx_hash: str) -> dict[str, Any] | None:
        return self.call("eth_getTransactionByHash", [tx_hash])

    def get_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        return self.call("eth_getTransactionReceipt", [tx_hash])

    def get_balance(self, address: str, block: str | int = "latest") -> int:
        return int(self.call("eth_getBalance", [address, _block_tag(block)]), 16)

    def eth_call(self, tx: dict[str, Any], block: str | int = "latest") -> bytes:
        """`eth_call` -> the returned bytes; a revert raises `RpcError` with the revert data."""
        result = self.call("eth_call", [tx, _block_tag(block)])
        return bytes.fromhex(result.removeprefix("0x"))


def _block_tag(block: str | int) -> str:
    return hex(block) if isinstance(block, int) else block


def _is_transient(error: dict[str, Any]) -> bool:
    message = str(error.get("message", "")).lower()
    if "revert" in message:
        return False
    return error.get("code") in _TRANSIENT_CODES or any(p in message for p in _TRANSIENT_PHRASES)
