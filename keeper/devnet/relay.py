"""A local relay that speaks the Flashbots JSON-RPC and a Protect-style private RPC, on a plain anvil.

So the keeper's real relay clients run end to end without the internet. It owns block production
for its anvil while it runs: it turns automine off, and every block is mined by `mine_block()`
(called by a test, by the background miner, or by `evm_mine` sent through its node proxy), which
first puts in what it holds:

- bundles (`eth_sendBundle`, `X-Flashbots-Signature` checked: the claimed address must be the one
  that signed the hex keccak of the exact body) are included in their target block only, with
  their transactions in order; a bundle whose transactions would revert (unless listed in
  `revertingTxHashes`) or carry a wrong nonce is left out whole, like a builder would;
- private transactions (`POST /protect` `eth_sendRawTransaction`, or `eth_sendPrivateTransaction`)
  are held out of the public mempool and tried in every block for `block_range` blocks; one that
  would revert or tips nothing waits; a newer one with the same sender and nonce replaces it;
- the public mempool (transactions sent straight to anvil) is mined as anvil orders it.

Endpoints: `POST /` (relay), `POST /protect` (private RPC, also served at MEV Blocker's endpoint
names /fast, /noreverts, ...; other methods are proxied to the node),
`GET /tx/<hash>` (Protect-shaped status), `POST /rpc` (node proxy; `evm_mine` mines through the
relay). Ordering across different senders inside one block follows anvil's `--order` (fees by
default): bundles from one sender are exact. A bundle's min/maxTimestamp are recorded, not
enforced. Test and demo use only.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
import rlp
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import to_checksum_address
from hexbytes import HexBytes

from keeper.chain.rpc import tx_hash_of
from keeper.devnet.httpserver import LocalServer, Request, Response
from keeper.relays.flashbots import HEADER, bundle_hash, recover_header_signer

log = logging.getLogger(__name__)

#: Paths that speak the private RPC: Protect's and MEV Blocker's endpoint names.
PRIVATE_PATHS = frozenset(
    {"/protect", "/fast", "/noreverts", "/fullprivacy", "/maxbackruns", "/nochecks"}
)


@dataclass
class DecodedTx:
    raw: bytes
    tx_hash: str
    sender: str
    nonce: int
    to: str | None
    value: int
    data: str
    gas: int
    max_fee: int
    priority_fee: int

    def as_call(self) -> dict[str, Any]:
        call = {
            "from": self.sender,
            "nonce": hex(self.nonce),
            "value": hex(self.value),
            "data": self.data,
            "gas": hex(self.gas),
            "maxFeePerGas": hex(self.max_fee),
            "maxPriorityFeePerGas": hex(self.priority_fee),
        }
        if self.to:
            call["to"] = self.to
        return call


def decode_raw_tx(raw: bytes) -> DecodedTx:
    """Fields of a signed transaction (legacy, EIP-2930 or EIP-1559), with its recovered sender."""
    sender = Account.recover_transaction(raw)
    if raw[0] >= 0x7F:  # legacy: rlp([nonce, gasPrice, gas, to, value, data, v, r, s])
        nonce, gas_price, gas, to, value, data, *_ = rlp.decode(raw)
        fields = {
            "nonce": nonce,
            "gas": gas,
            "to": to,
            "value": value,
            "data": data,
            "maxFeePerGas": gas_price,
            "maxPriorityFeePerGas": gas_price,
        }
        ints = {
            k: int.from_bytes(v, "big") if isinstance(v, bytes) and k not in ("to", "data") else v
            for k, v in fields.items()
        }
    else:
        ints = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        if "gasPrice" in ints:
            ints["maxFeePerGas"] = ints["maxPriorityFeePerGas"] = ints["gasPrice"]
    to = ints.get("to")
    to_hex = to_checksum_address(to) if to else None
    data = ints.get("data", b"")
    return DecodedTx(
        raw=raw,
        tx_hash=tx_hash_of(raw),
        sender=sender,
        nonce=int(ints["nonce"]),
        to=to_hex,
        value=int(ints.get("value", 0)),
        data="0x" + (bytes(data).hex() if not isinstance(data, str) else data[2:]),
        gas=int(ints["gas"]),
        max_fee=int(ints["maxFeePerGas"]),
        priority_fee=int(ints["maxPriorityFeePerGas"]),
    )


@dataclass
class PrivateTx:
    tx: DecodedTx
    max_block: int
    status: str = "PENDING"
    sim_error: str = ""
    revert_reason: str = ""
    included_block: int | None = None
    fast: bool = False


@dataclass
class Bundle:
    txs: list[DecodedTx]
    block: int
    reverting: set[str]
    bundle_hash: str
    signer: str
    status: str = "PENDING"
    reason: str = ""
    min_timestamp: int | None = None
    max_timestamp: int | None = None


@dataclass
class RelayLog:
    """What the relay saw, for tests: accepted signers, refused requests, mined blocks."""

    signers: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)


class LocalRelay:
    """The relay in front of one anvil at `node_url`."""

    def __init__(
        self, node_url: str, *, block_range: int = 25, require_signature: bool = True
    ) -> None:
        self.node_url = node_url
        self.block_range = block_range
        self.require_signature = require_signature
        self.log = RelayLog()
        self.bundles: list[Bundle] = []
        self.private: dict[str, PrivateTx] = {}
        self._node = httpx.Client(timeout=30)
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server = LocalServer(self._handle, name="local-relay")
        self._previous_automine: bool | None = None
        self._miner: threading.Thread | None = None
        self._stop_mining = threading.Event()

    # lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The Flashbots relay endpoint (eth_sendBundle, eth_callBundle, eth_sendPrivateTransaction)."""
        return self._server.url

    @property
    def protect_url(self) -> str:
        return self._server.url + "/protect"

    @property
    def status_url(self) -> str:
        return self._server.url + "/tx/"

    @property
    def rpc_url(self) -> str:
        """A node proxy whose `evm_mine` mines through the relay."""
        return self._server.url + "/rpc"

    def start(self) -> LocalRelay:
        self._previous_automine = bool(self._node_call("anvil_getAutomine"))
        self._node_call("evm_setAutomine", False)
        self._server.start()
        return self

    def stop(self) -> None:
        self._stop_mining.set()
        if self._miner:
            self._miner.join(timeout=10)
        self._server.stop()
        if self._previous_automine is not None:
            self._node_call("evm_setAutomine", self._previous_automine)
        self._node.close()

    def __enter__(self) -> LocalRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start_mining(self, interval_s: float) -> None:
        """Mine a block every `interval_s` seconds in the background (the demo's block time)."""

        def run() -> None:
            while not self._stop_mining.wait(interval_s):
                self.mine_block()

        self._miner = threading.Thread(target=run, name="local-relay-miner", daemon=True)
        self._miner.start()

    # the node ------------------------------------------------------------------------------------

    def _node_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        return self._node.post(self.node_url, json=body).json()

    def _node_call(self, method: str, *params: Any) -> Any:
        answer = self._node_request(method, list(params))
        if "error" in answer:
            raise RuntimeError(f"node {method}: {answer['error'].get('message')}")
        return answer.get("result")

    def _block_number(self) -> int:
        return int(self._node_call("eth_blockNumber"), 16)

    def _simulate(self, txs: list[DecodedTx]) -> list[dict[str, Any]]:
        """Each transaction's outcome, in order, on top of the latest state (eth_simulateV1)."""
        blocks = self._node_call(
            "eth_simulateV1",
            {"blockStateCalls": [{"calls": [t.as_call() for t in txs]}], "validation": False},
            "latest",
        )
        return blocks[0]["calls"]

    def _nonce_problem(self, txs: list[DecodedTx]) -> str:
        expected: dict[str, int] = {}
        for t in txs:
            if t.sender not in expected:
                expected[t.sender] = int(
                    self._node_call("eth_getTransactionCount", t.sender, "latest"), 16
                )
            if t.nonce != expected[t.sender]:
                return f"{t.tx_hash}: nonce {t.nonce}, account is at {expected[t.sender]}"
            expected[t.sender] += 1
        return ""

    # mining --------------------------------------------------------------------------------------

    def mine_block(self) -> int:
        """Put the held bundles and private transactions in, mine one block, settle; its number."""
        with self._lock:
            target = self._block_number() + 1
            sent_private = [p for p in self._pending_private(target) if self._offer_private(p)]
            bundles = [b for b in self.bundles if b.status == "PENDING" and b.block == target]
            sent_bundles = [b for b in bundles if self._offer_bundle(b)]
            self._node_call("evm_mine")
            mined = self._block_number()
            self._settle(mined, sent_private, sent_bundles)
            self.log.blocks.append(mined)
            return mined

    def _pending_private(self, target: int) -> list[PrivateTx]:
        pending = []
        for p in self.private.values():
            if p.status != "PENDING":
                continue
            if p.max_block < target:
                p.status, p.sim_error = (
                    "FAILED",
                    p.sim_error or f"not included by block {p.max_block}",
                )
                continue
            pending.append(p)
        return pending

    def _offer_private(self, p: PrivateTx) -> bool:
        if p.tx.priority_fee == 0:
            p.sim_error = "zero priority fee: not included"
            return False
        result = self._simulate([p.tx])[0]
        if result.get("status") != "0x1":
            p.sim_error = "execution reverted"
            p.revert_reason = result.get("returnData", "")
            return False
        answer = self._node_request("eth_sendRawTransaction", ["0x" + p.tx.raw.hex()])
        if "error" in answer:
            message = str(answer["error"].get("message", ""))
            if "nonce too low" in message:
                mined = self._node_call("eth_getTransactionReceipt", p.tx.tx_hash)
                p.status = "INCLUDED" if mined else "FAILED"
                p.sim_error = "" if mined else "nonce already used"
                if mined:
                    p.included_block = int(mined["blockNumber"], 16)
            elif "already" not in message:
                p.sim_error = message  # e.g. max fee below the base fee: try again next block
                return False
        return True

    def _offer_bundle(self, b: Bundle) -> bool:
        problem = self._nonce_problem(b.txs)
        if not problem:
            for t, result in zip(b.txs, self._simulate(b.txs), strict=True):
                if result.get("status") != "0x1" and t.tx_hash not in b.reverting:
                    problem = f"{t.tx_hash} reverts"
                    break
        if problem:
            b.status, b.reason = "FAILED", problem
            return False
        sent = []
        for t in b.txs:
            answer = self._node_request("eth_sendRawTransaction", ["0x" + t.raw.hex()])
            if "error" in answer and "already" not in str(answer["error"].get("message", "")):
                b.status, b.reason = "FAILED", str(answer["error"].get("message"))
                for s in sent:
                    self._node_request("anvil_dropTransaction", [s.tx_hash])
                return False
            sent.append(t)
        return True

    def _settle(
        self, mined: int, sent_private: list[PrivateTx], sent_bundles: list[Bundle]
    ) -> None:
        for p in sent_private:
            receipt = self._node_call("eth_getTransactionReceipt", p.tx.tx_hash)
            if receipt:
                p.status, p.included_block, p.sim_error = (
                    "INCLUDED",
                    int(receipt["blockNumber"], 16),
                    "",
                )
            else:  # not in this block (e.g. the base fee rose over its max fee): hold it, clear the pool
                self._node_request("anvil_dropTransaction", [p.tx.tx_hash])
        for b in sent_bundles:
            receipts = [self._node_call("eth_getTransactionReceipt", t.tx_hash) for t in b.txs]
            if all(r and int(r["blockNumber"], 16) == mined for r in receipts):
                b.status = "INCLUDED"
            else:
                b.status, b.reason = "FAILED", "not all transactions made it into the block"
                for t, r in zip(b.txs, receipts, strict=True):
                    if not r:
                        self._node_request("anvil_dropTransaction", [t.tx_hash])
        for b in self.bundles:
            if b.status == "PENDING" and b.block <= mined:
                b.status, b.reason = "FAILED", f"target block {b.block} passed"

    # HTTP --------------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path.startswith("/tx/"):
            return Response(200, self._status(request.path[len("/tx/") :].lower()))
        if request.method != "POST":
            return Response(405, {"error": "use POST"})
        try:
            payload = json.loads(request.body)
        except json.JSONDecodeError:
            return Response(400, _rpc_error(None, -32700, "parse error"))
        if request.path in ("", "/"):
            return self._relay(request, payload)
        if request.path in PRIVATE_PATHS:
            return self._protect(payload)
        if request.path == "/rpc":
            return self._proxy(payload)
        return Response(404, {"error": f"no endpoint {request.path}"})

    def _authenticate(self, request: Request) -> str | Response:
        header = request.headers.get(HEADER.lower())
        if not header:
            if self.require_signature:
                self.log.refused.append("missing signature")
                return Response(403, {"error": f"missing {HEADER} header"})
            return ""
        try:
            claimed, recovered = recover_header_signer(request.body, header)
        except (ValueError, TypeError) as e:
            self.log.refused.append("malformed signature")
            return Response(403, {"error": f"malformed {HEADER}: {e}"})
        if claimed.lower() != recovered.lower():
            self.log.refused.append("signer mismatch")
            return Response(403, {"error": "signer address does not match the signature"})
        self.log.signers.append(recovered)
        return recovered

    def _relay(self, request: Request, payload: dict[str, Any]) -> Response:
        signer = self._authenticate(request)
        if isinstance(signer, Response):
            return signer
        method, params, rid = (
            payload.get("method"),
            payload.get("params") or [{}],
            payload.get("id"),
        )
        try:
            with self._lock:
                if method == "eth_sendBundle":
                    return Response(200, _rpc_result(rid, self._send_bundle(params[0], signer)))
                if method == "eth_callBundle":
                    return Response(200, _rpc_result(rid, self._call_bundle(params[0])))
                if method == "eth_sendPrivateTransaction":
                    args = params[0]
                    max_block = (
                        int(args["maxBlockNumber"], 16) if args.get("maxBlockNumber") else None
                    )
                    fast = bool((args.get("preferences") or {}).get("fast"))
                    return Response(
                        200, _rpc_result(rid, self._hold_private(args["tx"], max_block, fast))
                    )
                if method == "eth_cancelPrivateTransaction":
                    return Response(
                        200, _rpc_result(rid, self._cancel_private(params[0]["txHash"]))
                    )
        except (KeyError, ValueError, TypeError) as e:
            return Response(200, _rpc_error(rid, -32602, f"invalid params: {e}"))
        return Response(
            200, _rpc_error(rid, -32601, f"method {method} not supported by the local relay")
        )

    def _send_bundle(self, args: dict[str, Any], signer: str) -> dict[str, str]:
        raws = [bytes.fromhex(tx.removeprefix("0x")) for tx in args["txs"]]
        if not raws or len(raws) > 100:
            raise ValueError("a bundle holds 1 to 100 transactions")
        block = int(args["blockNumber"], 16)
        if block <= self._block_number():
            raise ValueError(f"block {block} is not in the future")
        decoded = [decode_raw_tx(raw) for raw in raws]
        name = bundle_hash(raws)
        self.bundles.append(
            Bundle(
                decoded,
                block,
                {h.lower() for h in args.get("revertingTxHashes", [])},
                name,
                signer,
                min_timestamp=args.get("minTimestamp"),
                max_timestamp=args.get("maxTimestamp"),
            )
        )
        return {"bundleHash": name}

    def _call_bundle(self, args: dict[str, Any]) -> dict[str, Any]:
        raws = [bytes.fromhex(tx.removeprefix("0x")) for tx in args["txs"]]
        decoded = [decode_raw_tx(raw) for raw in raws]
        base_fee = int(
            self._node_call("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16
        )
        results, total_gas, total_fees = [], 0, 0
        for t, outcome in zip(decoded, self._simulate(decoded), strict=True):
            gas = int(outcome.get("gasUsed", "0x0"), 16)
            tip = min(t.priority_fee, max(t.max_fee - base_fee, 0))
            entry = {
                "coinbaseDiff": str(gas * tip),
                "ethSentToCoinbase": "0",
                "fromAddress": t.sender,
                "gasFees": str(gas * tip),
                "gasPrice": str(base_fee + tip),
                "gasUsed": gas,
                "toAddress": t.to,
                "txHash": t.tx_hash,
                "value": outcome.get("returnData", "0x"),
            }
            if outcome.get("status") != "0x1":
                entry["error"] = "execution reverted"
                entry["revert"] = outcome.get("returnData", "0x")
            results.append(entry)
            total_gas += gas
            total_fees += gas * tip
        return {
            "bundleGasPrice": str(total_fees // total_gas if total_gas else 0),
            "bundleHash": bundle_hash(raws),
            "coinbaseDiff": str(total_fees),
            "ethSentToCoinbase": "0",
            "gasFees": str(total_fees),
            "results": results,
            "stateBlockNumber": self._block_number(),
            "totalGasUsed": total_gas,
        }

    def _hold_private(self, raw_hex: str, max_block: int | None, fast: bool = False) -> str:
        tx = decode_raw_tx(bytes.fromhex(raw_hex.removeprefix("0x")))
        for other in self.private.values():  # a newer tx with the same sender and nonce replaces
            if (
                other.status == "PENDING"
                and other.tx.sender == tx.sender
                and other.tx.nonce == tx.nonce
                and other.tx.tx_hash != tx.tx_hash
            ):
                other.status = "CANCELLED"
        if tx.tx_hash not in self.private:
            limit = max_block or self._block_number() + self.block_range
            self.private[tx.tx_hash] = PrivateTx(tx, limit, fast=fast)
        return tx.tx_hash

    def _cancel_private(self, tx_hash: str) -> bool:
        held = self.private.get(tx_hash.lower())
        if held and held.status == "PENDING":
            held.status = "CANCELLED"
            return True
        return False

    def _protect(self, payload: dict[str, Any]) -> Response:
        if payload.get("method") != "eth_sendRawTransaction":
            return self._proxy(payload)
        rid = payload.get("id")
        try:
            with self._lock:
                return Response(
                    200, _rpc_result(rid, self._hold_private(payload["params"][0], None))
                )
        except (KeyError, IndexError, ValueError) as e:
            return Response(200, _rpc_error(rid, -32602, f"invalid transaction: {e}"))

    def _proxy(self, payload: Any) -> Response:
        if isinstance(payload, dict) and payload.get("method") == "evm_mine":
            self.mine_block()
            return Response(200, _rpc_result(payload.get("id"), "0x0"))
        upstream = self._node.post(self.node_url, json=payload)
        return Response(
            upstream.status_code, upstream.content, {"content-type": "application/json"}
        )

    def _status(self, tx_hash: str) -> dict[str, Any]:
        with self._lock:
            held = self.private.get(tx_hash)
            if held is None:
                return {
                    "status": "UNKNOWN",
                    "hash": tx_hash,
                    "maxBlockNumber": 0,
                    "transaction": {},
                    "fastMode": False,
                    "seenInMempool": False,
                    "simError": "",
                    "revertReason": "",
                    "isRevert": False,
                }
            t = held.tx
            included = held.status == "INCLUDED"
            return {
                "status": held.status,
                "hash": tx_hash,
                "maxBlockNumber": held.max_block,
                "transaction": {
                    "from": t.sender if included else "",
                    "to": (t.to or "") if included else "",
                    "gasLimit": str(t.gas) if included else "",
                    "maxFeePerGas": str(t.max_fee) if included else "",
                    "maxPriorityFeePerGas": str(t.priority_fee) if included else "",
                    "nonce": str(t.nonce) if included else "",
                    "value": str(t.value) if included else "",
                },
                "fastMode": held.fast,
                "seenInMempool": False,
                "simError": held.sim_error,
                "revertReason": held.revert_reason,
                "isRevert": bool(held.revert_reason),
            }


def _rpc_result(rid: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def _rpc_error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}
