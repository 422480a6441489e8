"""Flashbots bundles: `eth_sendBundle` / `eth_callBundle` with the `X-Flashbots-Signature` header,
retargeted every block until a deadline.

Owns the relay's JSON-RPC and its authentication:
- `FlashbotsAuth` signs a request body: header `X-Flashbots-Signature: <address>:<signature>`
  where the signature is EIP-191 `personal_sign` of the 0x-prefixed hex TEXT of keccak256(body)
  (../shared/data/api-samples/flashbots-auth-header.json). The key is a reputation key: it needs
  no funds, it is a secret all the same (registered with `keeper.secrets`);
- `BundleRelay` sends the body byte-identical to what was signed, targets the next block, and
  re-sends for each new block (`on_block`) until the deadline; `call_bundle` simulates.
A send whose answer is lost raises `ReconcileError`: the submitter checks the chain before the next
block's retarget, so a bundle is never re-sent blindly.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

from keeper import secrets
from keeper.chain.rpc import RpcError, tx_hash_of
from keeper.errors import ReconcileError, TemporaryError
from keeper.http import RetryPolicy, request_json
from keeper.relays.base import RelayStatus

log = logging.getLogger(__name__)

HEADER = "X-Flashbots-Signature"


class TextSigner(Protocol):
    @property
    def address(self) -> str: ...

    def sign_text(self, text: str) -> str: ...


class _LocalTextSigner:
    """A reputation key held in memory (from the environment or made up for a devnet)."""

    __slots__ = ("_account",)

    def __init__(self, key: str | bytes) -> None:
        self._account = Account.from_key(key)
        secrets.register(bytes(self._account.key))

    @property
    def address(self) -> str:
        return self._account.address

    def sign_text(self, text: str) -> str:
        return "0x" + bytes(self._account.sign_message(encode_defunct(text=text)).signature).hex()

    def __repr__(self) -> str:
        return f"ReputationKey({self.address})"


class FlashbotsAuth:
    """Signs request bodies for the `X-Flashbots-Signature` header."""

    def __init__(self, signer: TextSigner) -> None:
        self.signer = signer

    @classmethod
    def from_env(cls, name: str = "KEEPER_FLASHBOTS_KEY") -> FlashbotsAuth:
        """The reputation key from the environment variable `name` (hex private key)."""
        key = secrets.from_env(name, purpose="Flashbots reputation key")
        return cls(_LocalTextSigner(key))

    @classmethod
    def ephemeral(cls) -> FlashbotsAuth:
        """A fresh random reputation key (devnets; real relays build reputation per key)."""
        return cls(_LocalTextSigner(Account.create().key))

    @property
    def address(self) -> str:
        return self.signer.address

    def header(self, body: str) -> str:
        """The header value for exactly this body text."""
        digest = "0x" + keccak(text=body).hex()
        return f"{self.signer.address}:{self.signer.sign_text(digest)}"


def recover_header_signer(body: bytes, header_value: str) -> tuple[str, str]:
    """(claimed address, recovered address) of an `X-Flashbots-Signature` header over `body`.

    Used by the local relay; raises ValueError on a malformed header.
    """
    claimed, _, signature = header_value.partition(":")
    if not claimed or not signature:
        raise ValueError("want <address>:<signature>")
    digest = "0x" + keccak(body).hex()
    recovered = Account.recover_message(encode_defunct(text=digest), signature=signature)
    return claimed, recovered


def bundle_hash(raw_txs: Sequence[bytes]) -> str:
    """keccak256 of the concatenated transaction hashes (how Flashbots names a bundle)."""
    return "0x" + keccak(b"".join(bytes.fromhex(tx_hash_of(tx)[2:]) for tx in raw_txs)).hex()


@dataclass(frozen=True, slots=True)
class BundleTxResult:
    tx_hash: str
    gas_used: int
    error: str | None  # the revert or error text, when the transaction failed in simulation


@dataclass(frozen=True, slots=True)
class BundleSimulation:
    """An `eth_callBundle` answer: per-transaction results and totals (gas units, wei)."""

    bundle_hash: str
    results: tuple[BundleTxResult, ...]
    total_gas_used: int
    coinbase_diff_wei: int
    state_block: int

    @property
    def ok(self) -> bool:
        return all(r.error is None for r in self.results)


def parse_call_bundle(result: dict[str, Any]) -> BundleSimulation:
    """`eth_callBundle`'s result (decimal strings for wei, numbers for gas) -> `BundleSimulation`."""
    txs = tuple(
        BundleTxResult(
            tx_hash=r["txHash"],
            gas_used=int(r.get("gasUsed", 0)),
            error=(r.get("error") or r.get("revert")) or None,
        )
        for r in result.get("results", [])
    )
    return BundleSimulation(
        bundle_hash=result.get("bundleHash", ""),
        results=txs,
        total_gas_used=int(result.get("totalGasUsed", 0)),
        coinbase_diff_wei=int(result.get("coinbaseDiff", "0")),
        state_block=int(result.get("stateBlockNumber", 0)),
    )


class BundleRelay:
    """Flashbots-style bundles: each open transaction is sent as a one-transaction bundle for the
    next block, and again for every block until the deadline."""

    name = "flashbots-bundle"

    def __init__(
        self,
        auth: FlashbotsAuth,
        *,
        url: str = "https://relay.flashbots.net",
        builders: Sequence[str] = (),
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.auth = auth
        self.url = url
        self.builders = list(builders)
        self._client = client or httpx.Client(timeout=timeout_s)
        self._retry = retry or RetryPolicy()
        self._ids = itertools.count(1)
        self._targets: dict[str, int] = {}  # tx hash -> last target block

    # JSON-RPC ----------------------------------------------------------------------------------

    def _call(self, method: str, params: list[Any], *, idempotent: bool) -> Any:
        body = json.dumps(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params},
            separators=(",", ":"),
        )
        answer = request_json(
            self._client,
            "POST",
            self.url,
            what=f"relay {method}",
            idempotent=idempotent,
            retry=self._retry,
            auth_hint="the relay refused the X-Flashbots-Signature; check the reputation key",
            content=body.encode(),
            headers={"content-type": "application/json", HEADER: self.auth.header(body)},
        )
        payload = answer.body
        if not isinstance(payload, dict):
            raise (TemporaryError if idempotent else ReconcileError)(
                f"relay {method}: not a JSON-RPC answer (HTTP {answer.status})"
            )
        if payload.get("error"):
            error = payload["error"]
            raise RpcError(method, error.get("code"), str(error.get("message")), error.get("data"))
        return payload.get("result")

    def send_bundle(
        self,
        raw_txs: Sequence[bytes],
        block: int,
        *,
        min_timestamp: int | None = None,
        max_timestamp: int | None = None,
        reverting_tx_hashes: Sequence[str] = (),
    ) -> str:
        """`eth_sendBundle` for `block`; returns the bundle hash. Sent once (see the module doc)."""
        params: dict[str, Any] = {
            "txs": ["0x" + tx.hex() for tx in raw_txs],
            "blockNumber": hex(block),
        }
        if min_timestamp is not None:
            params["minTimestamp"] = min_timestamp
        if max_timestamp is not None:
            params["maxTimestamp"] = max_timestamp
        if reverting_tx_hashes:
            params["revertingTxHashes"] = list(reverting_tx_hashes)
        if self.builders:
            params["builders"] = self.builders
        result = self._call("eth_sendBundle", [params], idempotent=False)
        return str((result or {}).get("bundleHash", ""))

    def call_bundle(
        self, raw_txs: Sequence[bytes], block: int, *, state_block: str | int = "latest"
    ) -> BundleSimulation:
        """`eth_callBundle`: simulate the bundle as if in `block` on top of `state_block`."""
        state = hex(state_block) if isinstance(state_block, int) else state_block
        result = self._call(
            "eth_callBundle",
            [
                {
                    "txs": ["0x" + tx.hex() for tx in raw_txs],
                    "blockNumber": hex(block),
                    "stateBlockNumber": state,
                }
            ],
            idempotent=True,
        )
        return parse_call_bundle(result)

    # Relay protocol ----------------------------------------------------------------------------

    def send(self, raw_tx: bytes, *, current_block: int, deadline_block: int) -> str:
        tx_hash = tx_hash_of(raw_tx)
        self._targets[tx_hash] = current_block + 1
        self.send_bundle([raw_tx], current_block + 1)
        log.info("bundle with %s sent for block %d", tx_hash, current_block + 1)
        return tx_hash

    def on_block(self, block: int, open_raw_txs: list[bytes], *, deadline_block: int) -> None:
        """Retarget every open transaction to `block + 1` while that is within the deadline."""
        target = block + 1
        if target > deadline_block:
            return
        for raw in open_raw_txs:
            tx_hash = tx_hash_of(raw)
            if self._targets.get(tx_hash, 0) >= target:
                continue
            self._targets[tx_hash] = target
            self.send_bundle([raw], target)
            log.debug("bundle with %s retargeted to block %d", tx_hash, target)

    def status(self, tx_hash: str) -> RelayStatus:
        """Bundles have no status API here: PENDING while targeted, else UNKNOWN."""
        return RelayStatus.PENDING if tx_hash in self._targets else RelayStatus.UNKNOWN
