"""Balances and feed answers of one account, read in ONE Multicall3 call.

A `BalanceQuery` names what to read for one holding: an ERC-20 balance, ERC-4626 shares with
their value in the underlying (`convertToAssets`), an Aave aToken (already in underlying units),
or the native coin. `read_chain` reads any number of them, plus any number of Chainlink-style
feeds and the block it read at, with one `aggregate3` call; a failed sub-call marks only its own
result unknown (None). `read_metadata` reads what never changes (decimals, a vault's underlying)
once, so the reader can cache it.

This module knows nothing of the config or the core types; `keeper.chain.reader` maps to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from keeper.chain.multicall import MULTICALL3_ADDRESS, Call, Result, aggregate

BalanceKind = Literal["erc20", "erc4626", "atoken", "native"]
EthCall = Callable[[dict[str, Any], Any], bytes]

# convertToAssets(SHARE_PROBE) gives the share price with 36 digits: exact enough for any share
# token with up to 18 decimals, and within uint256 for any sane vault.
SHARE_PROBE = 10**36


@dataclass(frozen=True)
class BalanceQuery:
    key: str  # the caller's name for this holding
    kind: BalanceKind
    address: str  # token, vault or aToken contract (ignored for native)


@dataclass(frozen=True)
class Balance:
    raw: int  # underlying units (vault shares already converted)
    shares: int | None = None  # ERC-4626 share count


@dataclass(frozen=True)
class FeedAnswer:
    answer: int
    decimals: int
    updated_at: int


@dataclass(frozen=True)
class ChainRead:
    block_number: int
    block_timestamp: int
    balances: dict[str, Balance | None]  # key -> balance, None when the read failed
    feeds: dict[str, FeedAnswer | None]  # feed address -> answer, None when unreadable


@dataclass(frozen=True)
class Metadata:
    decimals: int | None  # of the underlying units the balance is expressed in
    underlying: str | None = None  # ERC-4626: the vault's asset


def read_chain(eth_call: EthCall, holder: str, queries: Sequence[BalanceQuery], feeds: Sequence[str], block: Any = "latest") -> ChainRead:
    """Every balance of `holder` in `queries` and every feed in `feeds`, in one `eth_call`."""
    calls = [Call(MULTICALL3_ADDRESS, "getBlockNumber()"), Call(MULTICALL3_ADDRESS, "getCurrentBlockTimestamp()")]
    spans: list[tuple[BalanceQuery, int, int]] = []
    for query in queries:
        start = len(calls)
        calls.extend(_balance_calls(query, holder))
        spans.append((query, start, len(calls)))
    feed_start = len(calls)
    for feed in feeds:
        calls.append(Call(feed, "decimals()", (), ("uint8",)))
        calls.append(Call(feed, "latestRoundData()", (), ("uint80", "int256", "uint256", "uint256", "uint80")))
    results = aggregate(eth_call, calls, block)
    balances = {query.key: _balance(query, results[start:end]) for query, start, end in spans}
    answers = {}
    for i, feed in enumerate(feeds):
        decimals, round_data = results[feed_start + 2 * i], results[feed_start + 2 * i + 1]
        answers[feed] = (
            FeedAnswer(round_data.value[1], decimals.value[0], round_data.value[3])
            if decimals.success and round_data.success else None
        )
    return ChainRead(results[0].value[0], results[1].value[0], balances, answers)


def read_metadata(eth_call: EthCall, queries: Sequence[BalanceQuery]) -> dict[str, Metadata]:
    """Decimals of each holding's underlying units (for a vault: its asset's), in two calls at
    most: vault assets first, then every decimals() at once."""
    vaults = [q for q in queries if q.kind == "erc4626"]
    underlying: dict[str, str | None] = {}
    if vaults:
        found = aggregate(eth_call, [Call(q.address, "asset()", (), ("address",)) for q in vaults])
        underlying = {q.key: (r.value[0] if r.success else None) for q, r in zip(vaults, found, strict=True)}
    targets = {q.key: (underlying.get(q.key) if q.kind == "erc4626" else q.address) for q in queries if q.kind != "native"}
    asked = [(key, address) for key, address in targets.items() if address]
    results = aggregate(eth_call, [Call(address, "decimals()", (), ("uint8",)) for _, address in asked])
    decimals = {key: (r.value[0] if r.success else None) for (key, _), r in zip(asked, results, strict=True)}
    out = {}
    for q in queries:
        if q.kind == "native":
            out[q.key] = Metadata(18)
        else:
            out[q.key] = Metadata(decimals.get(q.key), underlying.get(q.key))
    return out


def _balance_calls(query: BalanceQuery, holder: str) -> list[Call]:
    if query.kind == "native":
        return [Call(MULTICALL3_ADDRESS, "getEthBalance(address)", (holder,))]
    calls = [Call(query.address, "balanceOf(address)", (holder,))]
    if query.kind == "erc4626":
        calls.append(Call(query.address, "convertToAssets(uint256)", (SHARE_PROBE,)))
    return calls


def _balance(query: BalanceQuery, results: Sequence[Result]) -> Balance | None:
    if not all(r.success for r in results):
        return None
    held = results[0].value[0]
    if query.kind != "erc4626":
        return Balance(held)
    return Balance(held * results[1].value[0] // SHARE_PROBE, shares=held)
