"""Uniswap quotes read on-chain: QuoterV2 over V3 paths and Router02 over V2 paths, in ONE call.

The source searches every path of at most `max_hops` pools through the pools it is given (the
config lists them; on the devnet they come from the address book), asks QuoterV2 and the V2 router
for all of them in a single Multicall3 `eth_call`, and returns the best as an executable
SwapRouter02 call (`exactInput` for V3, `swapExactTokensForTokens` for V2) paying the taker.

It works the same on the devnet and on a fork of mainnet. It does not choose among sources or set
the keeper's minimum output: the BatchRebalancer measures the output against the keeper's minimum,
so the router calldata carries no minimum of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from keeper.chain.multicall import Call, aggregate
from keeper.quotes.base import NoRoute, Quote

# SwapRouter02 entry points (no deadline in SwapRouter02's V3 structs).
_EXACT_INPUT = function_signature_to_4byte_selector("exactInput((bytes,address,uint256,uint256))")
_V2_SWAP = function_signature_to_4byte_selector("swapExactTokensForTokens(uint256,uint256,address[],address)")
# Gas around the pool swaps that QuoterV2's estimate leaves out (the router's transfers and path
# decoding, and the transaction's own 21k): 29k-38k over the estimate on the devnet, for 1 and 2
# hops. A V2 hop through SwapRouter02 used 110k of 146k in the same measurement.
ROUTER_OVERHEAD_GAS = 35_000
V2_HOP_GAS = 110_000


@dataclass(frozen=True)
class V3Pool:
    token_a: str
    token_b: str
    fee: int  # hundredths of a bip


@dataclass(frozen=True)
class V2Pair:
    token_a: str
    token_b: str


@dataclass(frozen=True)
class Path:
    """A route through pools: tokens[0] -> tokens[-1]; `fees` per V3 hop, None for a V2 path."""

    tokens: tuple[str, ...]
    fees: tuple[int, ...] | None

    @property
    def hops(self) -> int:
        return len(self.tokens) - 1

    def encoded_v3(self) -> bytes:
        out = bytes.fromhex(self.tokens[0][2:])
        for fee, token in zip(self.fees, self.tokens[1:], strict=True):
            out += fee.to_bytes(3, "big") + bytes.fromhex(token[2:])
        return out


def find_paths(pools: Sequence[V3Pool], pairs: Sequence[V2Pair], token_in: str, token_out: str, max_hops: int = 2) -> list[Path]:
    """Every simple path from `token_in` to `token_out` of at most `max_hops` pools, V3 and V2
    separately (a path does not mix V2 and V3 hops: SwapRouter02 cannot in one call)."""
    token_in, token_out = token_in.lower(), token_out.lower()
    v3_edges: dict[str, list[tuple[str, int]]] = {}
    for pool in pools:
        a, b = pool.token_a.lower(), pool.token_b.lower()
        v3_edges.setdefault(a, []).append((b, pool.fee))
        v3_edges.setdefault(b, []).append((a, pool.fee))
    v2_edges: dict[str, list[str]] = {}
    for pair in pairs:
        a, b = pair.token_a.lower(), pair.token_b.lower()
        v2_edges.setdefault(a, []).append(b)
        v2_edges.setdefault(b, []).append(a)

    paths: list[Path] = []

    def walk_v3(tokens: list[str], fees: list[int]) -> None:
        if tokens[-1] == token_out:
            paths.append(Path(tuple(to_checksum_address(t) for t in tokens), tuple(fees)))
            return
        if len(fees) == max_hops:
            return
        for nxt, fee in v3_edges.get(tokens[-1], ()):
            if nxt not in tokens:
                walk_v3([*tokens, nxt], [*fees, fee])

    def walk_v2(tokens: list[str]) -> None:
        if tokens[-1] == token_out:
            paths.append(Path(tuple(to_checksum_address(t) for t in tokens), None))
            return
        if len(tokens) - 1 == max_hops:
            return
        for nxt in v2_edges.get(tokens[-1], ()):
            if nxt not in tokens:
                walk_v2([*tokens, nxt])

    if token_in != token_out:
        walk_v3([token_in], [])
        walk_v2([token_in])
    return paths


class UniswapSource:
    """A `QuoteSource` over Uniswap V3 (QuoterV2) and V2 (Router02 `getAmountsOut`)."""

    name = "uniswap"

    def __init__(
        self,
        eth_call: Callable[[dict[str, Any], Any], bytes],
        *,
        chain_id: int,
        quoter_v2: str,
        swap_router02: str,
        v2_router: str | None,
        pools: Sequence[V3Pool],
        v2_pairs: Sequence[V2Pair] = (),
        max_hops: int = 2,
    ):
        self._eth_call = eth_call
        self.chain_id = chain_id
        self.quoter_v2 = to_checksum_address(quoter_v2)
        self.swap_router02 = to_checksum_address(swap_router02)
        self.v2_router = to_checksum_address(v2_router) if v2_router else None
        self.pools = tuple(pools)
        self.v2_pairs = tuple(v2_pairs) if v2_router else ()
        self.max_hops = max_hops

    def candidates(self, token_in: str, token_out: str, amount_in_raw: int, taker: str) -> list[Quote]:
        """A quote for every path that has liquidity, best output first (one `eth_call`)."""
        paths = find_paths(self.pools, self.v2_pairs, token_in, token_out, self.max_hops)
        if not paths:
            raise NoRoute(f"uniswap: no configured pools connect {token_in} to {token_out}")
        calls = [self._quote_call(path, amount_in_raw) for path in paths]
        quotes = []
        for path, result in zip(paths, aggregate(self._eth_call, calls), strict=True):
            if not result.success:
                continue  # no liquidity for this amount on this path
            if path.fees is None:
                amount_out, gas = result.value[0][-1], V2_HOP_GAS * path.hops
            else:
                amount_out, gas = result.value[0], result.value[3]
            if amount_out > 0:
                quotes.append(self._quote(path, amount_in_raw, amount_out, gas + ROUTER_OVERHEAD_GAS, taker))
        if not quotes:
            raise NoRoute(f"uniswap: no path from {token_in} to {token_out} can take {amount_in_raw} raw units")
        return sorted(quotes, key=lambda q: (-q.amount_out_raw, q.gas_estimate))

    def quote(self, chain_id: int, token_in: str, token_out: str, amount_in_raw: int, taker: str) -> Quote:
        if chain_id != self.chain_id:
            raise NoRoute(f"uniswap: this source reads chain {self.chain_id}, not {chain_id}")
        return self.candidates(token_in, token_out, amount_in_raw, taker)[0]

    def _quote_call(self, path: Path, amount_in: int) -> Call:
        if path.fees is None:
            return Call(self.v2_router, "getAmountsOut(uint256,address[])", (amount_in, list(path.tokens)), ("uint256[]",))
        return Call(
            self.quoter_v2, "quoteExactInput(bytes,uint256)", (path.encoded_v3(), amount_in),
            ("uint256", "uint160[]", "uint32[]", "uint256"),
        )

    def _quote(self, path: Path, amount_in: int, amount_out: int, gas: int, taker: str) -> Quote:
        recipient = to_checksum_address(taker)
        if path.fees is None:
            data = _V2_SWAP + encode(["uint256", "uint256", "address[]", "address"], [amount_in, 0, list(path.tokens), recipient])
            route = "v2:" + ">".join(t[:8] for t in path.tokens)
        else:
            data = _EXACT_INPUT + encode(["(bytes,address,uint256,uint256)"], [(path.encoded_v3(), recipient, amount_in, 0)])
            route = "v3:" + ">".join(t[:8] for t in path.tokens)
        return Quote(
            source=self.name, chain_id=self.chain_id, token_in=path.tokens[0], token_out=path.tokens[-1],
            amount_in_raw=amount_in, amount_out_raw=amount_out, router=self.swap_router02,
            spender=self.swap_router02, calldata="0x" + data.hex(), value_wei=0, gas_estimate=gas,
            source_min_out_raw=0, quote_id=route,
        )
