"""On-chain positions and their prices, read in ONE Multicall3 call per chain.

A `HoldingSpec` says what to read for one holding: an ERC-20 balance, ERC-4626 shares valued
through `convertToAssets`, or an Aave aToken (whose balance is already in underlying units), plus
the Chainlink-style feed that prices the underlying. `read_positions` turns any number of specs
into one `aggregate3` call and returns `ChainPosition`s: raw amounts in underlying units, the feed
price as a `Decimal`, and why a position is unpriced when its feed is stale, zero, negative or
unreadable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from keeper.chain.multicall import Call, Result, aggregate
from keeper.money import to_decimal

HoldingKind = Literal["erc20", "erc4626", "atoken"]


@dataclass(frozen=True)
class HoldingSpec:
    asset: str  # the economic exposure, e.g. "USDC"
    holding: str  # where it sits, e.g. "wallet", "vault_usdc_a", "aave"
    kind: HoldingKind
    address: str  # token, vault or aToken contract
    decimals: int  # decimals of the underlying asset
    feed: str  # USD feed of the underlying
    share_decimals: int | None = None  # ERC-4626 share decimals (defaults to `decimals`)
    max_feed_age: int = 3600  # seconds; older answers leave the position unpriced


@dataclass(frozen=True)
class ChainPosition:
    spec: HoldingSpec
    raw: int  # underlying units (shares already converted)
    price: Decimal | None  # USD per whole underlying token; None when unpriced
    price_updated_at: int | None  # feed's updatedAt (unix seconds)
    unpriced_reason: str | None = None

    @property
    def amount(self) -> Decimal:
        return to_decimal(self.raw, self.spec.decimals)

    @property
    def value(self) -> Decimal | None:
        return None if self.price is None else self.amount * self.price


@dataclass(frozen=True)
class ChainRead:
    positions: tuple[ChainPosition, ...]
    block_number: int
    block_timestamp: int


def _share_unit(spec: HoldingSpec) -> int:
    """Shares passed to convertToAssets to read the share price with 18 extra digits of precision."""
    return 10 ** ((spec.share_decimals if spec.share_decimals is not None else spec.decimals) + 18)


def build_calls(specs: Sequence[HoldingSpec], holder: str) -> tuple[list[Call], list[list[int]], dict[str, int]]:
    """The calls for `specs`: per spec the indexes of its calls, per feed the index of its read.
    The first two calls read the block number and timestamp of the state being read."""
    calls = [
        Call("0xcA11bde05977b3631167028862bE2a173976CA11", "getBlockNumber()"),
        Call("0xcA11bde05977b3631167028862bE2a173976CA11", "getCurrentBlockTimestamp()"),
    ]
    per_spec: list[list[int]] = []
    feeds: dict[str, int] = {}
    for spec in specs:
        indexes = [len(calls)]
        calls.append(Call(spec.address, "balanceOf(address)", (holder,)))
        if spec.kind == "erc4626":
            indexes.append(len(calls))
            calls.append(Call(spec.address, "convertToAssets(uint256)", (_share_unit(spec),)))
        per_spec.append(indexes)
        if spec.feed not in feeds:
            feeds[spec.feed] = len(calls)
            calls.append(Call(spec.feed, "decimals()", (), ("uint8",)))
            calls.append(Call(spec.feed, "latestRoundData()", (), ("uint80", "int256", "uint256", "uint256", "uint80")))
    return calls, per_spec, feeds


def read_positions(
    eth_call: Callable[[dict[str, Any], Any], bytes], specs: Sequence[HoldingSpec], holder: str, block: Any = "latest"
) -> ChainRead:
    """Every position of `holder` described by `specs`, with prices, in one `eth_call`."""
    calls, per_spec, feeds = build_calls(specs, holder)
    results = aggregate(eth_call, calls, block)
    block_number = results[0].value[0]
    timestamp = results[1].value[0]
    positions = []
    for spec, indexes in zip(specs, per_spec, strict=True):
        raw = _amount(spec, [results[i] for i in indexes])
        feed_index = feeds[spec.feed]
        price, updated_at, reason = _price(results[feed_index], results[feed_index + 1], timestamp, spec.max_feed_age)
        if raw is None:
            reason = f"could not read the {spec.kind} balance at {spec.address}"
            raw = 0
        positions.append(ChainPosition(spec, raw, price, updated_at, reason))
    return ChainRead(tuple(positions), block_number, timestamp)


def _amount(spec: HoldingSpec, results: list[Result]) -> int | None:
    if not all(r.success for r in results):
        return None
    balance = results[0].value[0]
    if spec.kind != "erc4626":
        return balance
    assets_per_unit = results[1].value[0]
    return balance * assets_per_unit // _share_unit(spec)


def _price(decimals: Result, round_data: Result, now: int, max_age: int) -> tuple[Decimal | None, int | None, str | None]:
    if not (decimals.success and round_data.success):
        return None, None, "price feed unreadable"
    (places,) = decimals.value
    _, answer, _, updated_at, _ = round_data.value
    if answer <= 0:
        return None, updated_at, f"feed answered {answer} (zero or negative)"
    age = now - updated_at
    if age > max_age:
        return None, updated_at, f"feed is stale: updated {age} s ago (limit {max_age} s)"
    return Decimal(answer).scaleb(-places), updated_at, None
