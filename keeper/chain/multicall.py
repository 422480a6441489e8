"""Multicall3 reads: many view calls, one `eth_call`.

A `Call` pairs a target and calldata with a decoder for its return data. `aggregate` sends all of
them through Multicall3's `aggregate3` with `allowFailure=true`, so one broken token or feed marks
its own result failed instead of failing the whole read. Nothing here knows what is being read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"
_AGGREGATE3 = function_signature_to_4byte_selector("aggregate3((address,bool,bytes)[])")


@dataclass(frozen=True)
class Call:
    """One view call: `signature` like "balanceOf(address)", its args, and its return types."""

    target: str
    signature: str
    args: tuple = ()
    returns: tuple[str, ...] = ("uint256",)

    @property
    def calldata(self) -> bytes:
        selector = function_signature_to_4byte_selector(self.signature)
        arg_types = self.signature[self.signature.index("(") + 1 : -1]
        types = _split_types(arg_types)
        return selector + (encode(types, list(self.args)) if types else b"")

    def decode(self, data: bytes) -> tuple:
        return tuple(decode(list(self.returns), data))


@dataclass(frozen=True)
class Result:
    success: bool
    value: tuple | None  # decoded return values, or None when the call failed or returned garbage
    error: str | None = None


def encode_aggregate3(calls: Sequence[Call]) -> bytes:
    items = [(to_checksum_address(c.target), True, c.calldata) for c in calls]
    return _AGGREGATE3 + encode(["(address,bool,bytes)[]"], [items])


def decode_aggregate3(calls: Sequence[Call], data: bytes) -> list[Result]:
    (raw_results,) = decode(["(bool,bytes)[]"], data)
    results = []
    for call, (success, payload) in zip(calls, raw_results, strict=True):
        if not success:
            results.append(Result(False, None, "reverted"))
            continue
        if len(payload) < 32 * len(call.returns):  # every return value has a 32-byte head
            results.append(Result(False, None, "empty or short return (no contract at the target?)"))
            continue
        try:
            results.append(Result(True, call.decode(payload)))
        except Exception as e:  # noqa: BLE001 - a malformed return (e.g. no code at target) is data, not a crash
            results.append(Result(False, None, f"undecodable return ({type(e).__name__})"))
    return results


def aggregate(eth_call: Callable[[dict[str, Any], Any], bytes], calls: Sequence[Call], block: Any = "latest") -> list[Result]:
    """Run `calls` in one `eth_call` to Multicall3. `eth_call(tx, block)` returns the raw bytes."""
    if not calls:
        return []
    data = eth_call({"to": MULTICALL3_ADDRESS, "data": "0x" + encode_aggregate3(calls).hex()}, block)
    return decode_aggregate3(calls, bytes(data))


def _split_types(arg_types: str) -> list[str]:
    """Split "address,(uint256,bool),bytes" at top-level commas."""
    types, depth, current = [], 0, ""
    for ch in arg_types:
        if ch == "," and depth == 0:
            types.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    if current:
        types.append(current)
    return types
