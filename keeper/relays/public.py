"""Public mempool: `eth_sendRawTransaction` to the keeper's own node.

Owns only the mapping of the node's view onto `RelayStatus`: a transaction the node returns
without a block is PENDING, with a block INCLUDED, and unknown when the node has dropped it (or
never got it). Sending once and never blindly again is `keeper.chain.rpc`'s job.
"""

from __future__ import annotations

from keeper.chain.rpc import RpcClient
from keeper.relays.base import RelayStatus


class PublicMempool:
    """Broadcast through the node the keeper reads from (visible to every searcher: MEV risk)."""

    name = "public"

    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    def send(self, raw_tx: bytes, *, current_block: int, deadline_block: int) -> str:
        return self.rpc.send_raw_transaction(raw_tx)

    def on_block(self, block: int, open_raw_txs: list[bytes], *, deadline_block: int) -> None:
        """Nothing to do: the mempool keeps the transaction."""

    def status(self, tx_hash: str) -> RelayStatus:
        tx = self.rpc.get_transaction(tx_hash)
        if tx is None:
            return RelayStatus.UNKNOWN
        return RelayStatus.INCLUDED if tx.get("blockNumber") else RelayStatus.PENDING
