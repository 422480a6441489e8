"""The same devnet code on a fork of a real chain (KEEPER_FORK_URL; skipped without it)."""

from __future__ import annotations

from keeper.chain.multicall import MULTICALL3_ADDRESS, Call, aggregate
from keeper.devnet.devnet import Devnet


def test_fork__real_chain__multicall3_reads_its_state(fork_url):
    with Devnet.start(fork_url=fork_url) as net:
        assert net.book is None  # nothing deployed: the real protocols are there
        assert len(net.w3.eth.get_code(MULTICALL3_ADDRESS)) > 0
        results = aggregate(
            lambda tx, block: net.w3.eth.call(tx, block),
            [Call(MULTICALL3_ADDRESS, "getChainId()"), Call(MULTICALL3_ADDRESS, "getBlockNumber()")],
        )
        assert results[0].value[0] == net.w3.eth.chain_id
        assert results[1].value[0] >= 1
