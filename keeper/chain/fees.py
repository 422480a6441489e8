"""Fee data from a chain: `eth_feeHistory`, the ETH/USD feed, and the L2s' L1 data fee oracles.

This module owns the reads (and only the reads) that the gas policy needs:

- `read_fee_history`: `eth_feeHistory` -> `keeper.signals.gas.FeeHistory`;
- `read_eth_usd`: a Chainlink-style `latestRoundData` -> Decimal USD per ETH, refusing a
  non-positive or stale answer;
- `opstack_l1_fee`: OP-stack `GasPriceOracle.getL1Fee(unsigned RLP tx)` at the predeploy
  0x420000000000000000000000000000000000000F (wei);
- `arbitrum_gas_components`: Arbitrum `NodeInterface.gasEstimateComponents` at the virtual
  address 0x00000000000000000000000000000000000000C8, via `eth_call`.

Sources: ../shared/data/chain/CHAIN_FACTS.md sections 2-4, selectors from abis/SELECTORS.json.
It does not decide anything (`keeper.signals.gas` does) and never sends a transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import rlp
from eth_abi import decode, encode
from eth_utils import to_checksum_address

from keeper.chain.rpc import RpcClient
from keeper.errors import ConfigError, TemporaryError
from keeper.signals.gas import FeeHistory

OPSTACK_GAS_PRICE_ORACLE = "0x420000000000000000000000000000000000000F"
ARBITRUM_NODE_INTERFACE = "0x00000000000000000000000000000000000000C8"

SELECTOR_GET_L1_FEE = bytes.fromhex("49948e0e")  # getL1Fee(bytes)
SELECTOR_GAS_ESTIMATE_COMPONENTS = bytes.fromhex(
    "c94e6eeb"
)  # gasEstimateComponents(address,bool,bytes)
SELECTOR_LATEST_ROUND_DATA = bytes.fromhex("feaf968c")  # latestRoundData()
SELECTOR_DECIMALS = bytes.fromhex("313ce567")  # decimals()


def read_fee_history(
    rpc: RpcClient,
    *,
    blocks: int = 10,
    percentiles: Sequence[float] = (10, 50, 90),
    newest: str | int = "latest",
) -> FeeHistory:
    """The last `blocks` blocks' base fees, gas-used ratios and priority-fee percentiles (wei)."""
    if not 1 <= blocks <= 1024:
        raise ValueError("blocks must be within 1..1024 (the nodes' limit)")
    tag = hex(newest) if isinstance(newest, int) else newest
    raw = rpc.call("eth_feeHistory", [hex(blocks), tag, list(percentiles)])
    try:
        rewards = tuple(tuple(int(r, 16) for r in row) for row in (raw.get("reward") or ()))
        return FeeHistory(
            oldest_block=int(raw["oldestBlock"], 16),
            base_fees_wei=tuple(int(fee, 16) for fee in raw["baseFeePerGas"]),
            gas_used_ratios=tuple(float(r) for r in raw["gasUsedRatio"]),
            rewards_wei=rewards,
            percentiles=tuple(float(p) for p in percentiles) if rewards else (),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise TemporaryError(
            f"{rpc.name} eth_feeHistory: unexpected answer ({e}); is it an EIP-1559 chain?"
        ) from e


@dataclass(frozen=True, slots=True)
class FeedAnswer:
    """A Chainlink-style feed's latest answer: the price as Decimal and when it was updated (unix s)."""

    price: Decimal
    updated_at: int
    round_id: int


def read_eth_usd(rpc: RpcClient, feed: str, *, max_age_s: int = 3_600 + 600) -> FeedAnswer:
    """USD per ETH from the chain's ETH/USD feed.

    Refuses an answer <= 0 or older than `max_age_s` seconds relative to the latest block (the
    mainnet ETH/USD heartbeat is one hour; the default adds ten minutes of margin).
    """
    decimals = decode(
        ["uint8"], rpc.eth_call({"to": feed, "data": "0x" + SELECTOR_DECIMALS.hex()})
    )[0]
    out = rpc.eth_call({"to": feed, "data": "0x" + SELECTOR_LATEST_ROUND_DATA.hex()})
    round_id, answer, _started, updated_at, _answered = decode(
        ["uint80", "int256", "uint256", "uint256", "uint80"], out
    )
    if answer <= 0:
        raise TemporaryError(
            f"price feed {feed}: answer {answer} is not a price; waiting for a valid round"
        )
    block = rpc.get_block("latest")
    now = int(block["timestamp"], 16) if block else updated_at
    if now - updated_at > max_age_s:
        raise TemporaryError(
            f"price feed {feed}: last update {now - updated_at} s ago is older than {max_age_s} s; "
            "waiting for a fresh round"
        )
    return FeedAnswer(Decimal(answer).scaleb(-decimals), updated_at, round_id)


def unsigned_eip1559_tx(tx: dict[str, Any]) -> bytes:
    """The unsigned, fully RLP-encoded EIP-1559 transaction (type 2) that `getL1Fee` prices.

    `tx` holds chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to (None to create),
    value, data (hex or bytes) and an optional accessList.
    """
    try:
        to = tx.get("to")
        data = tx.get("data", b"")
        fields = [
            int(tx["chainId"]),
            int(tx["nonce"]),
            int(tx["maxPriorityFeePerGas"]),
            int(tx["maxFeePerGas"]),
            int(tx["gas"]),
            bytes.fromhex(to.removeprefix("0x")) if to else b"",
            int(tx.get("value", 0)),
            data if isinstance(data, bytes) else bytes.fromhex(data.removeprefix("0x")),
            [
                [
                    bytes.fromhex(item["address"].removeprefix("0x")),
                    [bytes.fromhex(k.removeprefix("0x")) for k in item.get("storageKeys", [])],
                ]
                for item in tx.get("accessList", [])
            ],
        ]
    except KeyError as e:
        raise ValueError(f"unsigned transaction: missing field {e.args[0]}") from e
    return b"\x02" + rlp.encode(fields)


def opstack_l1_fee(rpc: RpcClient, unsigned_tx: bytes, *, block: str | int = "latest") -> int:
    """The L1 data fee (wei) an OP-stack chain charges for `unsigned_tx` (see `unsigned_eip1559_tx`)."""
    data = SELECTOR_GET_L1_FEE + encode(["bytes"], [unsigned_tx])
    out = rpc.eth_call({"to": OPSTACK_GAS_PRICE_ORACLE, "data": "0x" + data.hex()}, block)
    if len(out) < 32:
        raise ConfigError(
            f"chain {rpc.name}: no GasPriceOracle at {OPSTACK_GAS_PRICE_ORACLE}; is this chain really OP-stack?"
        )
    return decode(["uint256"], out)[0]


@dataclass(frozen=True, slots=True)
class ArbitrumGas:
    """`NodeInterface.gasEstimateComponents`: gas units (the estimate includes the L1 part) and wei."""

    gas_estimate: int
    gas_estimate_for_l1: int
    base_fee_wei: int
    l1_base_fee_estimate_wei: int

    @property
    def l2_gas(self) -> int:
        return self.gas_estimate - self.gas_estimate_for_l1


def arbitrum_gas_components(
    rpc: RpcClient,
    *,
    sender: str,
    to: str,
    data: bytes,
    contract_creation: bool = False,
    value_wei: int = 0,
) -> ArbitrumGas:
    """Arbitrum's gas estimate for calling `to` with `data` from `sender`, split into L2 and L1 parts."""
    call = SELECTOR_GAS_ESTIMATE_COMPONENTS + encode(
        ["address", "bool", "bytes"], [to_checksum_address(to), contract_creation, data]
    )
    out = rpc.eth_call(
        {
            "from": sender,
            "to": ARBITRUM_NODE_INTERFACE,
            "data": "0x" + call.hex(),
            "value": hex(value_wei),
        }
    )
    if len(out) < 128:
        raise ConfigError(
            f"chain {rpc.name}: no NodeInterface answer at {ARBITRUM_NODE_INTERFACE}; is this chain really Arbitrum?"
        )
    gas, gas_l1, base_fee, l1_base_fee = decode(["uint64", "uint64", "uint256", "uint256"], out)
    return ArbitrumGas(gas, gas_l1, base_fee, l1_base_fee)
