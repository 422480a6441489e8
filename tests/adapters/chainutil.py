"""Helpers for the adapter tests: compile a test-only Vyper stand-in, deploy, place code at an address."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

import vyper
from eth_abi import encode
from eth_utils import to_checksum_address

from keeper.chain.rpc import RpcClient

CONTRACTS = Path(__file__).resolve().parent / "contracts"


@cache
def compile_standin(name: str) -> tuple[list, str]:
    """ABI and creation bytecode of `tests/adapters/contracts/<name>.vy` (test-only contracts)."""
    out = vyper.compile_code(
        (CONTRACTS / f"{name}.vy").read_text(), output_formats=["abi", "bytecode"]
    )
    return out["abi"], out["bytecode"]


def constructor_types(abi: list) -> list[str]:
    ctor = next((item for item in abi if item.get("type") == "constructor"), None)
    return [i["type"] for i in ctor["inputs"]] if ctor else []


def deploy(rpc: RpcClient, account, abi: list, bytecode: str, *args) -> str:
    """Deploy with `account` (automine on) and return the new contract's address."""
    data = bytecode + encode(constructor_types(abi), list(args)).hex()
    nonce = rpc.get_transaction_count(account.address)
    signed = account.sign_transaction(
        {
            "type": 2,
            "chainId": rpc.chain_id(),
            "nonce": nonce,
            "to": None,
            "value": 0,
            "data": data,
            "gas": 5_000_000,
            "maxFeePerGas": 100 * 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    receipt = wait_receipt(rpc, rpc.send_raw_transaction(signed.raw_transaction))
    assert receipt and receipt["status"] == "0x1", receipt
    return to_checksum_address(receipt["contractAddress"])


def wait_receipt(rpc: RpcClient, tx_hash: str, timeout_s: float = 10.0) -> dict | None:
    """anvil's automine answers the send before the receipt is always readable: poll briefly."""
    deadline = time.monotonic() + timeout_s
    while (receipt := rpc.get_receipt(tx_hash)) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return receipt


def place_standin(devnet, rpc: RpcClient, account, name: str, at: str, *args) -> None:
    """Deploy stand-in `name` with constructor `args`, then copy its runtime code (immutables
    included) to the address `at`, as a predeploy would sit there."""
    abi, bytecode = compile_standin(name)
    deployed = deploy(rpc, account, abi, bytecode, *args)
    devnet.rpc("anvil_setCode", at, devnet.rpc("eth_getCode", deployed, "latest"))
