"""Sending the devnet's setup transactions: deploy, call, check, fast.

anvil mines each transaction as it arrives (automine), so a receipt exists as soon as the hash
comes back: no polling. Gas is given explicitly, so no estimate round trip; a revert is replayed
with `eth_call` to report the contract's reason. Only the devnet and tests use this module.
"""

from __future__ import annotations

import time
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound

from keeper.devnet.artifacts import Artifact

SETUP_GAS = 15_000_000


class SetupError(RuntimeError):
    """A devnet setup transaction reverted; the message names the call and the reason."""


class Txs:
    """Deploys and sends as unlocked anvil accounts."""

    def __init__(self, w3: Web3, default_sender: str):
        self.w3 = w3
        self.sender = to_checksum_address(default_sender)

    def deploy(self, artifact: Artifact, *args: Any, sender: str | None = None) -> Contract:
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = self._base(sender) | {"data": factory.constructor(*args).data_in_transaction}
        receipt = self._send(tx, f"deploy {artifact.name}")
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def send(self, call: ContractFunction, *, sender: str | None = None, value: int = 0) -> dict:
        tx = self._base(sender) | {"to": call.address, "data": call._encode_transaction_data(), "value": hex(value)}
        return self._send(tx, f"{call.address[:10]}.{call.fn_name}")

    def raw(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(method, list(params))
        if "error" in response:
            raise SetupError(f"{method}: {response['error']}")
        return response.get("result")

    def contract(self, address: str, artifact: Artifact) -> Contract:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=artifact.abi)

    def _base(self, sender: str | None) -> dict:
        # Raw eth_sendTransaction with an explicit gas: no estimate, nonce or fee round trips.
        return {"from": to_checksum_address(sender) if sender else self.sender, "gas": hex(SETUP_GAS)}

    def _send(self, tx: dict, what: str) -> dict:
        tx_hash = self.raw("eth_sendTransaction", tx)
        receipt = self._receipt(tx_hash)
        if receipt["status"] != 1:
            raise SetupError(f"{what} reverted: {self._reason(tx, receipt)}")
        return receipt

    def _receipt(self, tx_hash: str) -> dict:
        """The receipt, as web3 formats it. Automine answers with the hash once the block is
        sealed, but on a busy machine the receipt can trail it by a few milliseconds."""
        for _ in range(500):
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                time.sleep(0.01)
        raise SetupError(f"no receipt for {tx_hash} after 5 s: is anvil mining (automine)?")

    def _reason(self, tx: dict, receipt: dict) -> str:
        call = {k: tx[k] for k in ("from", "to", "data") if k in tx} | {"value": int(tx.get("value", "0x0"), 16)}
        try:
            self.w3.eth.call(call, receipt["blockNumber"] - 1)
        except ContractLogicError as e:
            return str(e)
        except Exception as e:  # noqa: BLE001 - only used to decorate an error we already raise
            return f"no reason ({type(e).__name__})"
        return "no reason"
