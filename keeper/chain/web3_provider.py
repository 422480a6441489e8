"""A web3.py provider on top of `keeper.chain.rpc.RpcClient`, so code that uses web3 (contract
calls, Multicall3 reads) gets the keeper's retry policy and its one rule for sends.

Reads go through `RpcClient.call` (retried; a JSON-RPC error comes back to web3 as the same error
answer, so web3 raises its usual exceptions, e.g. `ContractLogicError` for a revert).
`eth_sendRawTransaction` goes through `RpcClient.send_raw_transaction`: tried once, and a lost
answer raises `SendOutcomeUnknown` (a `ReconcileError`) out of web3 unchanged. This module adds no
policy of its own.
"""

from __future__ import annotations

import itertools
from typing import Any

from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from keeper.chain.rpc import RpcClient, RpcError
from keeper.errors import KeeperError


class KeeperProvider(JSONBaseProvider):
    """Use as `Web3(KeeperProvider(RpcClient(url)))`."""

    def __init__(self, rpc: RpcClient) -> None:
        super().__init__()
        self.rpc = rpc
        self._ids = itertools.count(1)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        request_id = next(self._ids)
        try:
            if method == "eth_sendRawTransaction":
                result = self.rpc.send_raw_transaction(params[0])
            else:
                result = self.rpc.call(method, list(params or ()))
        except RpcError as e:
            error: dict[str, Any] = {"code": e.code, "message": e.rpc_message}
            if e.data is not None:
                error["data"] = e.data
            return {"jsonrpc": "2.0", "id": request_id, "error": error}  # type: ignore[return-value]
        return {"jsonrpc": "2.0", "id": request_id, "result": result}  # type: ignore[return-value]

    def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            self.rpc.chain_id()
        except KeeperError:
            if show_traceback:
                raise
            return False
        return True
