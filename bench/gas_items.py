"""Where a transaction's gas went: an itemization from anvil's opcode and call traces.

Every unit of `gasUsed` lands in exactly one line: the intrinsic 21,000, calldata, then the
top-level contract's own work by kind (storage, transient scratch, events, other logic), each
call it makes with everything beneath it by what the call is (an approval, a balance read, a feed
read, a swap...), and the refund (negative) the EVM gives back at the end. `itemize` checks that
the lines sum to the receipt's gasUsed. Needs an anvil started with `--steps-tracing`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

CALL_OPS = {"CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"}
# selector -> what a call with it is
SELECTORS = {
    "0x095ea7b3": "approvals",  # approve(address,uint256)
    "0xdd62ed3e": "allowance reads",  # allowance(address,address)
    "0x70a08231": "balance reads",  # balanceOf(address)
    "0xfeaf968c": "feed reads",  # latestRoundData()
    "0x07a2d13a": "share valuation",  # convertToAssets(uint256)
}


def calldata_gas(data: str) -> int:
    raw = bytes.fromhex(data.removeprefix("0x"))
    return sum(4 if b == 0 else 16 for b in raw)


def itemize(rpc: Callable[..., Any], tx_hash: str, classify_call: Callable[[dict], str] | None = None) -> dict[str, int]:
    """{line: gas} for the mined transaction `tx_hash`; `classify_call` names top-level calls that
    SELECTORS does not (default: "calls")."""
    receipt = rpc("eth_getTransactionReceipt", tx_hash)
    tx = rpc("eth_getTransactionByHash", tx_hash)
    steps = rpc("debug_traceTransaction", tx_hash, {"disableStack": True, "disableMemory": True, "disableStorage": True})
    logs = steps["structLogs"]
    if not logs:
        raise RuntimeError("no opcode trace: start anvil with --steps-tracing")
    calls = iter(rpc("debug_traceTransaction", tx_hash, {"tracer": "callTracer"}).get("calls", []))

    items: Counter[str] = Counter()
    items["intrinsic"] = 21_000
    items["calldata"] = calldata_gas(tx["input"])
    top = [i for i, step in enumerate(logs) if step["depth"] == 1]
    for position, i in enumerate(top):
        op = logs[i]["op"]
        if position + 1 < len(top):
            cost = logs[i]["gas"] - logs[top[position + 1]]["gas"]  # includes any call beneath it
        else:
            cost = logs[i]["gasCost"]
        if op in CALL_OPS and i + 1 < len(logs) and logs[i + 1]["depth"] == 2:
            call = next(calls)
            line = SELECTORS.get(call.get("input", "")[:10]) or (classify_call(call) if classify_call else "calls")
        elif op in CALL_OPS:
            line = "calls"  # a call that ran no code (precompile or empty account)
        elif op.startswith("LOG"):
            line = "events"
        elif op in ("SLOAD", "SSTORE"):
            line = "storage"
        elif op in ("TLOAD", "TSTORE"):
            line = "transient scratch"
        else:
            line = "logic"
        items[line] += cost
    used = int(receipt["gasUsed"], 16)
    items["refund"] = used - sum(items.values())
    if items["refund"] > 0:
        raise AssertionError(f"itemization exceeds gasUsed by {-items['refund']}: the trace was not read whole")
    return dict(items)
