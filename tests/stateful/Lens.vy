# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title Lens (TEST ONLY)
@notice Everything the stateful test observes, in one eth_call: balances, allowances, feed rounds,
        vault totals, the rebalancer's configuration and the block time. One call per step keeps
        thousands of steps fast.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC4626


interface IAggregatorV3:
    def latestRoundData() -> (uint80, int256, uint256, uint256, uint80): view


interface IRebalancer:
    def paused() -> bool: view
    def last_batch_id() -> uint256: view
    def max_loss_bps() -> uint256: view


struct Observation:
    timestamp: uint256
    # balances[i * len(holders) + j] = tokens[i].balanceOf(holders[j])
    balances: DynArray[uint256, 128]
    # allowances[i * len(spenders) + j] = tokens[i].allowance(rebalancer, spenders[j])
    allowances: DynArray[uint256, 128]
    answers: DynArray[int256, 16]
    updated_at: DynArray[uint256, 16]
    # (totalSupply, asset balance of the vault) per vault
    vault_totals: DynArray[uint256, 16]
    paused: bool
    last_batch_id: uint256
    max_loss_bps: uint256


@view
@external
def observe(
    rebalancer: address,
    tokens: DynArray[address, 16],
    holders: DynArray[address, 8],
    spenders: DynArray[address, 8],
    feeds: DynArray[address, 16],
    vaults: DynArray[address, 8],
) -> Observation:
    out: Observation = empty(Observation)
    out.timestamp = block.timestamp
    for token: address in tokens:
        for holder: address in holders:
            out.balances.append(staticcall IERC20(token).balanceOf(holder))
        for spender: address in spenders:
            out.allowances.append(staticcall IERC20(token).allowance(rebalancer, spender))
    for feed: address in feeds:
        _: uint80 = 0
        answer: int256 = 0
        __: uint256 = 0
        updated_at: uint256 = 0
        ___: uint80 = 0
        _, answer, __, updated_at, ___ = staticcall IAggregatorV3(feed).latestRoundData()
        out.answers.append(answer)
        out.updated_at.append(updated_at)
    for vault: address in vaults:
        out.vault_totals.append(staticcall IERC20(vault).totalSupply())
        out.vault_totals.append(staticcall IERC20(staticcall IERC4626(vault).asset()).balanceOf(vault))
    out.paused = staticcall IRebalancer(rebalancer).paused()
    out.last_batch_id = staticcall IRebalancer(rebalancer).last_batch_id()
    out.max_loss_bps = staticcall IRebalancer(rebalancer).max_loss_bps()
    return out
