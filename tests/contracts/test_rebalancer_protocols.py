"""Batches against the real protocols on the devnet: Uniswap's SwapRouter02 (single and multi-hop,
quoted by QuoterV2), snekmate ERC-4626 vaults and an Aave V3 market, including migrations between
them and chains of "use everything" amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rebalancer_world import reverts

from keeper.chain.rebalancer import ALL, PostCondition, StepKind, amount_offset, decode_batch
from keeper.errors import ConfigError


def no_allowance_left(w) -> bool:
    spenders = [w.swap_router02, w.aave.pool, *(v.address for v in w.vaults.values())]
    return all(w.allowance(s, sp) == 0 for s in ("USDC", "DAI", "WETH", "WBTC") for sp in spenders)


def test_uniswap__four_swaps_single_and_multi_hop__outputs_at_least_the_quotes(world):
    w = world
    steps = [
        w.uniswap(["WETH", 500, "USDC"], w.raw("WETH", 10)),
        w.uniswap(["USDC", 3000, "WBTC"], w.raw("USDC", 60_000)),
        w.uniswap(["USDC", 500, "WETH", 3000, "SOL"], w.raw("USDC", 15_000)),  # SOL trades only against WETH
        w.uniswap(["DAI", 100, "USDC"], w.raw("DAI", 20_000)),
    ]
    sol_before = w.balance("SOL")
    result = decode_batch(w.rebalancer, w.execute(steps))
    assert [s.received >= step.min_out for s, step in zip(result.steps, steps, strict=True)] == [True] * 4
    assert [s.spent for s in result.steps] == [step.amount_in for step in steps]
    assert w.balance("SOL") - sol_before == result.steps[2].received > w.raw("SOL", 99)  # ~$15k at $150
    assert 0 < result.loss_bps < 100  # pool fees (1 to 35 bps a route) and price impact, inside the bound
    assert no_allowance_left(w)


def test_uniswap__chained_all_amounts__each_swap_spends_the_previous_output(world):
    # WETH -> WBTC -> (everything) -> USDC -> (everything) -> SOL, after the owner took the
    # contract's own WBTC and USDC out, so "everything" is exactly the previous step's output.
    w = world
    for symbol in ("WBTC", "USDC"):
        w.send(w.rebalancer.functions.sweep(w.address(symbol)), w.owner)
    w.send(w.rebalancer.functions.set_max_loss_bps(200), w.owner)  # three pools in a row: ~1.6% in fees and impact
    steps = [
        w.uniswap(["WETH", 500, "WBTC"], w.raw("WETH", 20)),
        w.uniswap(["WBTC", 3000, "USDC"], ALL, placeholder=w.raw("WBTC", 1), min_out=w.raw("USDC", 59_000)),
        w.uniswap(["USDC", 500, "WETH", 3000, "SOL"], ALL, placeholder=w.raw("USDC", 60_000), min_out=w.raw("SOL", 390)),
    ]
    result = decode_batch(w.rebalancer, w.execute(steps))
    assert result.steps[1].spent == result.steps[0].received
    assert result.steps[2].spent == result.steps[1].received
    assert w.balance("WBTC") == 0 and w.balance("USDC") == 0
    assert no_allowance_left(w)


def test_migration__vault_to_vault__all_shares_move(world):
    w = world
    shares = w.balance("vault_usdc_a")
    assets = w.vaults["vault_usdc_a"].functions.previewRedeem(shares).call()
    expected = w.vaults["vault_usdc_b"].functions.previewDeposit(assets).call()
    steps = [w.redeem("vault_usdc_a", ALL, min_assets=assets), w.deposit("vault_usdc_b", assets, min_shares=expected)]
    result = decode_batch(w.rebalancer, w.execute(steps))
    assert w.balance("vault_usdc_a") == 0
    assert result.steps[1].received == expected == w.balance("vault_usdc_b")
    assert no_allowance_left(w)


def test_migration__vault_to_aave__atokens_worth_what_was_redeemed(world):
    w = world
    shares = w.balance("vault_usdc_a")
    assets = w.vaults["vault_usdc_a"].functions.previewRedeem(shares).call()
    steps = [w.redeem("vault_usdc_a", ALL, min_assets=assets), w.supply("USDC", assets, min_out=assets - 1)]
    result = decode_batch(w.rebalancer, w.execute(steps))
    assert [s.kind for s in result.steps] == [StepKind.VAULT_REDEEM, StepKind.AAVE_SUPPLY]
    assert w.balance("vault_usdc_a") == 0
    # Measured inside the transaction (interest accrues between blocks): aTokens are scaled
    # balances, so 1 unit of rounding.
    assert abs(result.steps[1].received - assets) <= 1
    assert result.loss_bps <= Decimal("0.01")
    assert no_allowance_left(w)


def test_migration__aave_to_vault__everything_withdrawn_and_deposited(world):
    w = world
    w.send(w.rebalancer.functions.sweep(w.address("USDC")), w.owner)  # so ALL of USDC is what Aave paid
    held = w.balance("aUSDC")
    steps = [w.withdraw_aave("USDC", ALL, min_out=held), w.deposit("vault_usdc_b", ALL)]
    result = decode_batch(w.rebalancer, w.execute(steps))
    assert w.balance("aUSDC") == 0 and w.balance("USDC") == 0
    assert result.steps[0].spent == held and result.steps[1].spent == result.steps[0].received
    assert no_allowance_left(w)


@pytest.mark.parametrize("seconds", [0, 1, 7, 3_600, 40_000])
def test_aave__partial_withdraw__spent_within_one_unit_of_rounding(world, seconds):
    # Whatever the liquidity index (it moves with time), burning scaled aTokens for `amount`
    # lowers the balance by `amount` give or take one unit; the contract allows one unit more.
    w = world
    w.warp(seconds)
    amount = w.raw("USDC", "12345.678901")
    result = decode_batch(w.rebalancer, w.execute([w.withdraw_aave("USDC", amount, min_out=amount)]))
    assert result.steps[0].received == amount
    assert amount - 1 <= result.steps[0].spent <= amount + 1


def test_mixed__swap_vault_and_aave_in_one_batch__post_conditions_hold(world):
    w = world
    steps = [
        w.uniswap(["WETH", 500, "USDC"], w.raw("WETH", 5)),
        w.deposit("vault_usdc_b", w.raw("USDC", 10_000)),
        w.supply("DAI", w.raw("DAI", 50_000)),
        w.withdraw_aave("USDC", w.raw("USDC", 20_000)),
        w.redeem("vault_dai", w.balance("vault_dai") // 2),
    ]
    post = [PostCondition(w.address("aDAI"), w.raw("DAI", 50_000) - 1), PostCondition(w.address("WETH"), w.raw("WETH", 295))]
    result = decode_batch(w.rebalancer, w.execute(steps, post))
    assert [s.kind for s in result.steps] == [StepKind.SWAP, StepKind.VAULT_DEPOSIT, StepKind.AAVE_SUPPLY,
                                               StepKind.AAVE_WITHDRAW, StepKind.VAULT_REDEEM]
    assert result.loss_bps < 10
    assert no_allowance_left(w)


def test_uniswap__keeper_min_out_above_the_pool__reverts_on_measured_output(world):
    w = world
    step = w.uniswap(["WETH", 500, "USDC"], w.raw("WETH", 10), slippage_bps=-10)  # asks 0.1% above the quote
    with reverts("rebalancer: min out"):
        w.execute([step])


def test_uniswap__recipient_in_calldata_is_someone_else__loss_bound_reverts(world):
    w = world
    step = w.uniswap(["WETH", 500, "USDC"], w.raw("WETH", 10), min_out=0)
    stolen = step.data.replace(bytes.fromhex(w.rebalancer.address[2:]), bytes.fromhex(w.stranger[2:]))
    bad = (int(step.kind), step.target, step.token_in, step.token_out, step.amount_in, 0, step.amount_offset, stolen)
    with reverts("rebalancer: loss bound"):
        w.execute([bad])


def test_aave__pool_not_allowed__reverts(world):
    w = world
    w.send(w.rebalancer.functions.set_aave_pool(w.aave.pool, False), w.owner)
    with reverts("rebalancer: Aave pool not allowed"):
        w.execute([w.supply("USDC", w.raw("USDC", 1))])


def test_a_token__of_another_pool__refused(world):
    w = world
    w.send(w.rebalancer.functions.set_aave_pool(w.stranger, True), w.owner)
    with reverts("rebalancer: aToken of another pool"):
        w.send(w.rebalancer.functions.set_a_token(w.address("aUSDC"), w.stranger), w.owner)


def test_amount_offset__placeholder_twice__refused():
    data = b"\x00" * 4 + (7).to_bytes(32, "big") * 2
    with pytest.raises(ConfigError, match="exactly once"):
        amount_offset(data, 7)

