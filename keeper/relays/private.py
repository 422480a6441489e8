"""Private RPCs: Flashbots Protect and MEV Blocker (a drop-in `eth_sendRawTransaction` that keeps
the transaction out of the public mempool, plus a status API by hash).

Owns the endpoints, their URL options and parsing the status answers:
- Flashbots Protect: `https://rpc.flashbots.net[/fast]`, options as query parameters (hint,
  builder, refund, useMempool, canRevert, blockRange); status at
  `https://protect.flashbots.net/tx/<hash>` (PENDING | INCLUDED | FAILED | CANCELLED | UNKNOWN);
- MEV Blocker: `https://rpc.mevblocker.io/{fast|noreverts|fullprivacy|...}`; status at
  `https://rpc.mevblocker.io/tx/<hash>` (only a field skeleton is documented: we read `status`
  with the same vocabulary and treat anything else as UNKNOWN).
Shapes: ../shared/data/api-samples/{flashbots-protect-rpc,mevblocker-rpc}.json. Sending goes
through `RpcClient.send_raw_transaction`, so a lost answer is never blindly re-sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from keeper.chain.rpc import RpcClient
from keeper.errors import TemporaryError
from keeper.http import RetryPolicy, request_json
from keeper.relays.base import RelayStatus


@dataclass(frozen=True, slots=True)
class PrivateTxStatus:
    """A status API answer: the status, the last block the relay will try, and why it failed."""

    status: RelayStatus
    max_block_number: int | None
    sim_error: str
    revert_reason: str
    raw: dict[str, Any]


def parse_status(body: Any) -> PrivateTxStatus:
    """A Protect (or MEV Blocker) status answer -> `PrivateTxStatus`."""
    if not isinstance(body, dict):
        return PrivateTxStatus(RelayStatus.UNKNOWN, None, "", "", {})
    max_block = body.get("maxBlockNumber")
    return PrivateTxStatus(
        status=RelayStatus.parse(body.get("status")),
        max_block_number=int(max_block) if isinstance(max_block, int) else None,
        sim_error=str(body.get("simError") or body.get("simulationError") or ""),
        revert_reason=str(body.get("revertReason") or ""),
        raw=body,
    )


class PrivateRpcRelay:
    """A private `eth_sendRawTransaction` endpoint with a status API at `status_url + <hash>`."""

    name = "private"

    def __init__(
        self,
        rpc_url: str,
        status_url: str,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self._client = client or httpx.Client(timeout=timeout_s)
        self.rpc = RpcClient(rpc_url, retry=retry, client=self._client, name=self.name)
        self.status_url = status_url
        self._retry = retry or RetryPolicy()

    def send(self, raw_tx: bytes, *, current_block: int, deadline_block: int) -> str:
        return self.rpc.send_raw_transaction(raw_tx)

    def on_block(self, block: int, open_raw_txs: list[bytes], *, deadline_block: int) -> None:
        """Nothing to do: the relay retries inclusion itself for its block range."""

    def status(self, tx_hash: str) -> RelayStatus:
        return self.status_detail(tx_hash).status

    def status_detail(self, tx_hash: str) -> PrivateTxStatus:
        answer = request_json(
            self._client,
            "GET",
            self.status_url + tx_hash,
            what=f"{self.name} status",
            idempotent=True,
            retry=self._retry,
        )
        if answer.status == 404:
            return parse_status({"status": "UNKNOWN"})
        if answer.status != 200:
            raise TemporaryError(f"{self.name} status: HTTP {answer.status}; try again later")
        return parse_status(answer.body)


class FlashbotsProtect(PrivateRpcRelay):
    """Flashbots Protect RPC. `options` become the documented query parameters, e.g.
    `{"hint": ["hash"], "builder": ["flashbots"], "blockRange": 25}`."""

    name = "flashbots-protect"

    def __init__(
        self,
        *,
        rpc_url: str = "https://rpc.flashbots.net",
        status_url: str = "https://protect.flashbots.net/tx/",
        fast: bool = False,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        url = rpc_url.rstrip("/") + ("/fast" if fast else "")
        if options:
            url += "?" + urlencode(options, doseq=True)
        super().__init__(url, status_url, **kwargs)


class MevBlocker(PrivateRpcRelay):
    """MEV Blocker RPC; `endpoint` is one of fast (default), noreverts, fullprivacy, maxbackruns, nochecks."""

    name = "mev-blocker"
    ENDPOINTS = ("fast", "noreverts", "fullprivacy", "maxbackruns", "nochecks")

    def __init__(
        self,
        *,
        base_url: str = "https://rpc.mevblocker.io",
        endpoint: str = "fast",
        status_url: str | None = None,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if endpoint not in self.ENDPOINTS:
            raise ValueError(
                f"MEV Blocker endpoint {endpoint!r}: use one of {', '.join(self.ENDPOINTS)}"
            )
        url = f"{base_url.rstrip('/')}/{endpoint}"
        if options:
            url += "?" + urlencode(options, doseq=True)
        super().__init__(url, status_url or f"{base_url.rstrip('/')}/tx/", **kwargs)
