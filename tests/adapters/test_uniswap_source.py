"""The on-chain Uniswap quote source on the devnet: every quote it gives is exactly what executes."""

from __future__ import annotations

import pytest

from keeper.devnet.book import uniswap_source
from keeper.devnet.recipe import artifact
from keeper.quotes.base import NoRoute
from keeper.quotes.uniswap import find_paths


@pytest.fixture
def counted_calls(devnet):
    calls = []

    def eth_call(tx, block):
        calls.append(tx)
        return devnet.w3.eth.call(tx, block)

    return eth_call, calls


def execute(devnet, quote, sender):
    """Send the quote's calldata from `sender` (as taker), return the output received."""
    token_out = devnet.txs.contract(quote.token_out, artifact("erc20"))
    token_in = devnet.txs.contract(quote.token_in, artifact("erc20"))
    before = token_out.functions.balanceOf(sender).call()
    devnet.txs.send(token_in.functions.transfer(sender, quote.amount_in_raw), sender=devnet.book.accounts["lp"])
    devnet.txs.send(token_in.functions.approve(quote.spender, quote.amount_in_raw), sender=sender)
    devnet.txs.raw("eth_sendTransaction", {"from": sender, "to": quote.router, "data": quote.calldata, "gas": hex(1_000_000)})
    return token_out.functions.balanceOf(sender).call() - before


@pytest.mark.parametrize(("token_in", "token_out", "amount", "hops"), [
    ("WETH", "USDC", 10**19, 1),          # 10 ETH, single hop
    ("SOL", "USDC", 100 * 10**9, 2),      # no SOL/USDC pool: via WETH
    ("UNI", "WBTC", 1_000 * 10**18, 2),   # UNI -> WETH -> WBTC
])
def test_quote__best_path__executes_for_exactly_the_quoted_output(devnet, book, counted_calls, token_in, token_out, amount, hops):
    stranger = book.accounts["stranger"]
    eth_call, calls = counted_calls
    source = uniswap_source(book, eth_call)
    quote = source.quote(book.chain_id, book.token(token_in).address, book.token(token_out).address, amount, stranger)
    assert len(calls) == 1  # every candidate path in one Multicall3 eth_call
    assert quote.quote_id.startswith("v3:") and quote.quote_id.count(">") == hops
    assert execute(devnet, quote, stranger) == quote.amount_out_raw


def test_candidates__v2_path__executes_through_swaprouter02(devnet, book):
    stranger = book.accounts["stranger"]
    source = uniswap_source(book, lambda tx, block: devnet.w3.eth.call(tx, block))
    quotes = source.candidates(book.token("USDC").address, book.token("WETH").address, 5_000 * 10**6, stranger)
    v2 = [q for q in quotes if q.quote_id.startswith("v2:")]
    assert v2 and any(q.quote_id.startswith("v3:") for q in quotes)
    assert execute(devnet, v2[0], stranger) == v2[0].amount_out_raw


def test_quote__unconnected_tokens__no_route(devnet, book):
    source = uniswap_source(book, lambda tx, block: devnet.w3.eth.call(tx, block))
    source.max_hops = 1
    with pytest.raises(NoRoute, match="no configured pools"):
        source.quote(book.chain_id, book.token("SOL").address, book.token("USDC").address, 10**9, book.accounts["stranger"])


def test_find_paths__cycles_and_hop_limit__only_simple_paths():
    from keeper.quotes.uniswap import V3Pool

    a, b, c = ("0x" + "0a" * 20, "0x" + "0b" * 20, "0x" + "0c" * 20)
    pools = [V3Pool(a, b, 500), V3Pool(b, c, 500), V3Pool(a, c, 3000), V3Pool(a, b, 3000)]
    paths = find_paths(pools, [], a, c, max_hops=2)
    assert sorted((p.hops, p.fees) for p in paths) == [(1, (3000,)), (2, (500, 500)), (2, (3000, 500))]
