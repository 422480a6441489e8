"""execute(): steps measured as balance changes, chained ALL amounts, migrations, the loss bound,
idempotent ids, deadlines, pause, post-conditions, and the log book."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rebalancer_world import Reverted, raw_step, reverts

from keeper.chain.rebalancer import ALL, PostCondition, StepKind, decode_batch


def allowances_are_zero(world) -> bool:
    spenders = [world.router.address, *(v.address for v in world.vaults.values())]
    return all(world.allowance(symbol, s) == 0 for symbol in world.assets for s in spenders)


def test_execute__four_swaps__balances_move_by_the_measured_amounts(world):
    w = world
    before = {s: w.balance(s) for s in ("USDC", "DAI", "WBTC", "WETH")}
    steps = [
        w.swap("USDC", "WETH", w.raw("USDC", 30_000)),
        w.swap("DAI", "WBTC", w.raw("DAI", 60_000)),
        w.swap("WETH", "DAI", w.raw("WETH", 5)),
        w.swap("WBTC", "USDC", w.raw("WBTC", "0.5")),
    ]
    receipt = w.execute(steps)

    assert w.balance("USDC") == before["USDC"] - w.raw("USDC", 30_000) + w.raw("USDC", 30_000)
    assert w.balance("WETH") == before["WETH"] + w.raw("WETH", 10) - w.raw("WETH", 5)
    assert w.balance("WBTC") == before["WBTC"] + w.raw("WBTC", 1) - w.raw("WBTC", "0.5")
    assert w.balance("DAI") == before["DAI"] - w.raw("DAI", 60_000) + w.raw("DAI", 15_000)
    result = decode_batch(w.rebalancer, receipt)
    assert [s.spent for s in result.steps] == [w.raw("USDC", 30_000), w.raw("DAI", 60_000), w.raw("WETH", 5), w.raw("WBTC", "0.5")]
    assert [s.received for s in result.steps] == [w.raw("WETH", 10), w.raw("WBTC", 1), w.raw("DAI", 15_000), w.raw("USDC", 30_000)]
    assert all(s.kind == StepKind.SWAP and s.target == w.router.address for s in result.steps)
    assert allowances_are_zero(w)


def test_execute__batch_event__values_touched_assets_at_oracle_prices(world):
    w = world
    receipt = w.execute([w.swap("USDC", "WETH", w.raw("USDC", 30_000))])
    result = decode_batch(w.rebalancer, receipt)
    # Touched: USDC (1,000,000 $) and WETH (300 x $3,000); a fair swap keeps the total.
    assert result.value_before == Decimal(1_000_000 + 900_000)
    assert result.value_after == result.value_before
    assert result.value_sold == Decimal(30_000)
    assert result.loss_bps == 0
    assert result.batch_id == 1
    assert 0 < result.gas_left < 8_000_000


def test_execute__all_amounts__each_step_spends_the_previous_output(world):
    w = world
    usdc_before = w.balance("USDC")
    weth_before = w.balance("WETH")
    # USDC -> WBTC -> WETH, the second and third steps spending everything held.
    steps = [
        w.swap("USDC", "WBTC", w.raw("USDC", 60_000)),
        w.swap("WBTC", "WETH", ALL, w.raw("WETH", 200 + 20)),
        w.swap("WETH", "DAI", ALL, w.raw("DAI", (300 + 220) * 3_000)),
    ]
    receipt = w.execute(steps)
    result = decode_batch(w.rebalancer, receipt)
    assert result.steps[1].spent == w.raw("WBTC", 11)  # the 10 held plus the 1 just bought
    assert result.steps[2].spent == weth_before + w.raw("WETH", 220)  # all of it
    assert w.balance("WBTC") == 0 and w.balance("WETH") == 0
    assert w.balance("USDC") == usdc_before - w.raw("USDC", 60_000)
    assert allowances_are_zero(w)


def test_execute__vault_to_vault_migration__shares_move_at_the_vault_price(world):
    w = world
    shares = w.balance("vault_usdc_a")
    assets = w.vaults["vault_usdc_a"].functions.previewRedeem(shares).call()
    steps = [w.redeem("vault_usdc_a", ALL, min_assets=assets), w.deposit("vault_usdc_b", assets)]
    receipt = w.execute(steps)
    result = decode_batch(w.rebalancer, receipt)
    assert w.balance("vault_usdc_a") == 0
    assert (result.steps[0].spent, result.steps[0].received) == (shares, assets)
    assert result.steps[0].kind == StepKind.VAULT_REDEEM and result.steps[1].kind == StepKind.VAULT_DEPOSIT
    assert w.balance("vault_usdc_b") == result.steps[1].received > 0
    worth = w.vaults["vault_usdc_b"].functions.convertToAssets(w.balance("vault_usdc_b")).call()
    assert assets - 1 <= worth <= assets  # the vault rounds against the depositor, by at most 1 unit
    assert allowances_are_zero(w)


def test_execute__mixed_batch__swap_then_deposit_everything(world):
    w = world
    shares_before = w.balance("vault_dai")
    steps = [w.swap("WETH", "DAI", w.raw("WETH", 10)), w.deposit("vault_dai", ALL)]
    w.execute(steps)
    assert w.balance("DAI") == 0
    worth = w.vaults["vault_dai"].functions.convertToAssets(w.balance("vault_dai") - shares_before).call()
    assert w.raw("DAI", 1_030_000) - 1 <= worth <= w.raw("DAI", 1_030_000)


@pytest.mark.parametrize("paid_below_fair, reverted", [(Decimal("0.01"), False), (Decimal("0.01") + Decimal("1e-18"), True)])
def test_execute__loss_at_and_past_the_bound__passes_then_reverts(world, paid_below_fair, reverted):
    # Sell 100,000 USDC for DAI with min_out 0: only the loss bound (100 bps of the value sold) stands.
    w = world
    paid = int((Decimal(100_000) * (1 - paid_below_fair)) * 10**18)
    step = w.swap("USDC", "DAI", w.raw("USDC", 100_000), paid, min_out=0)
    if reverted:
        with reverts("rebalancer: loss bound"):
            w.execute([step])
    else:
        result = decode_batch(w.rebalancer, w.execute([step]))
        assert result.loss_bps == 100


def test_execute__gain__passes_whatever_the_bound(world):
    w = world
    w.send(w.rebalancer.functions.set_max_loss_bps(0), w.owner)
    w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000), w.raw("DAI", 1_001))])
    with reverts("rebalancer: loss bound"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000), w.raw("DAI", 1_000) - 1, min_out=0)])


def test_execute__price_move__loss_is_measured_at_current_prices(world):
    # WETH fell 50%: selling 10 WETH for the new fair 15,000 USDC is no loss at today's price.
    w = world
    w.set_price("WETH", Decimal(1_500))
    w.execute([w.swap("WETH", "USDC", w.raw("WETH", 10))])
    with reverts("rebalancer: loss bound"):  # selling at yesterday's price would be
        w.execute([w.swap("USDC", "WETH", w.raw("USDC", 15_000), w.raw("WETH", 5), min_out=0)])


def test_execute__same_id_twice__second_reverts(world):
    w = world
    w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10))], batch_id=7)
    with reverts("rebalancer: batch id already used"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10))], batch_id=7)
    with reverts("rebalancer: batch id already used"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10))], batch_id=6)
    w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10))], batch_id=8)
    assert w.rebalancer.functions.last_batch_id().call() == 8


def test_execute__reverted_batch__id_stays_free(world):
    w = world
    with reverts("rebalancer: min out"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10), w.raw("DAI", 9), min_out=w.raw("DAI", 10))], batch_id=3)
    w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10))], batch_id=3)


def test_execute__past_deadline__reverts(world):
    w = world
    with reverts("rebalancer: expired"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10))], deadline=w.now() - 1)


def test_execute__paused__reverts_until_the_owner_unpauses(world):
    w = world
    w.send(w.rebalancer.functions.pause(), w.guardian)
    with reverts("pausable: contract is paused"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10))])
    w.send(w.rebalancer.functions.unpause(), w.owner)
    w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10))])


def test_execute__post_condition_unmet__reverts(world):
    w = world
    step = w.swap("USDC", "DAI", w.raw("USDC", 10))
    dai_after = w.balance("DAI") + w.raw("DAI", 10)
    with reverts("rebalancer: post-condition"):
        w.execute([step], [PostCondition(w.address("DAI"), dai_after + 1)])
    w.execute([step], [PostCondition(w.address("DAI"), dai_after)])


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda w, s: s | {1: w.stranger}, "rebalancer: router not allowed"),
        (lambda w, s: s | {1: w.address("USDC")}, "rebalancer: router not allowed"),
        (lambda w, s: s | {4: 0}, "rebalancer: zero amount"),
        (lambda w, s: s | {3: s[2]}, "rebalancer: token in is token out"),
        (lambda w, s: s | {0: int(StepKind.SWAP | StepKind.VAULT_DEPOSIT), 6: 0, 7: b""}, "rebalancer: unknown step kind"),
        (lambda w, s: s | {6: len(s[7]) - 31}, "rebalancer: amount offset outside calldata"),
        (lambda w, s: s | {6: 3}, "rebalancer: amount offset outside calldata"),
    ],
    ids=["stranger-router", "token-as-router", "zero-amount", "same-token", "two-kinds", "offset-past-end", "offset-in-selector"],
)
def test_execute__malformed_step__reverts_with_its_reason(world, mutate, reason):
    w = world
    step = dict(enumerate(w.swap("USDC", "DAI", w.raw("USDC", 10)).as_abi()))
    bad = tuple(mutate(w, step)[i] for i in range(8))
    with reverts(reason):
        w.execute([bad])


def test_execute__asset_not_allowed__reverts(world):
    w = world
    w.send(w.rebalancer.functions.remove_asset(w.address("DAI")), w.owner)
    with reverts("rebalancer: asset not allowed"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 10))])


def test_execute__vault_step_with_wrong_underlying__reverts(world):
    w = world
    bad = raw_step(StepKind.VAULT_DEPOSIT, w.address("vault_dai"), w.address("USDC"), w.address("vault_dai"), 10)
    with reverts("rebalancer: wrapper does not match its underlying"):
        w.execute([bad])
    bad = raw_step(StepKind.VAULT_DEPOSIT, w.address("vault_usdc_b"), w.address("USDC"), w.address("vault_usdc_a"), 10)
    with reverts("rebalancer: target is not the vault"):
        w.execute([bad])
    bad = raw_step(StepKind.VAULT_REDEEM, w.address("vault_dai"), w.address("vault_dai"), w.address("DAI"), 10, data=b"\x01")
    with reverts("rebalancer: calldata on a non-swap step"):
        w.execute([bad])


def test_execute__aave_step_without_allowed_pool__reverts(world):
    w = world
    bad = raw_step(StepKind.AAVE_SUPPLY, w.stranger, w.address("USDC"), w.address("vault_usdc_a"), 10)
    with reverts("rebalancer: wrapper does not match its underlying"):
        w.execute([bad])


def test_execute__no_steps__reverts(world):
    with reverts("rebalancer: no steps"):
        world.execute([])


def test_execute__eth_attached__reverts(world):
    w = world
    call = w.rebalancer.functions.execute(1, 2**40, [w.swap("USDC", "DAI", 10**6).as_abi()], [])
    tx = {"from": w.keeper, "to": w.rebalancer.address, "data": call._encode_transaction_data(), "value": hex(1), "gas": hex(8_000_000)}
    tx_hash = w.txs.raw("eth_sendTransaction", tx)
    assert w.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0
    assert w.w3.eth.get_balance(w.rebalancer.address) == 0


def test_execute__two_batches_in_one_block__scratch_does_not_leak(world):
    # Transient scratch is wiped at the end of a batch: a second batch in the same block (same
    # transaction in practice, via a Safe multisend) values its own touched assets only.
    w = world
    w.txs.raw("evm_setAutomine", False)
    try:
        first = w.rebalancer.functions.execute(1, 2**40, [w.swap("USDC", "WETH", w.raw("USDC", 3_000)).as_abi()], [])
        second = w.rebalancer.functions.execute(2, 2**40, [w.swap("DAI", "WBTC", w.raw("DAI", 6_000)).as_abi()], [])
        hashes = [
            w.txs.raw("eth_sendTransaction", {"from": w.keeper, "to": c.address, "data": c._encode_transaction_data(), "gas": hex(3_000_000)})
            for c in (first, second)
        ]
        w.txs.raw("evm_mine")
    finally:
        w.txs.raw("evm_setAutomine", True)
    receipts = [w.w3.eth.get_transaction_receipt(h) for h in hashes]
    assert [r["status"] for r in receipts] == [1, 1]
    second_result = decode_batch(w.rebalancer, receipts[1])
    assert second_result.value_before == Decimal(1_000_000 + 600_000)  # DAI and WBTC only


def test_execute__reverting_router__bubbles_its_reason(world):
    w = world
    step = w.swap("USDC", "DAI", w.raw("USDC", 10), 10**40)  # more than the router holds
    with pytest.raises(Reverted):
        w.execute([step])
    assert allowances_are_zero(w)


def test_execute__second_batch_in_the_same_transaction__refused(world):
    # A keeper contract (here Multicall3, made a keeper) tries two batches in one transaction:
    # the second is refused, so transient scratch never carries from one batch to another.
    w = world
    multicall = w.w3.eth.contract(address=w.book.multicall3, abi=[{
        "name": "aggregate3", "type": "function", "stateMutability": "payable",
        "inputs": [{"name": "calls", "type": "tuple[]", "components": [
            {"name": "target", "type": "address"}, {"name": "allowFailure", "type": "bool"},
            {"name": "callData", "type": "bytes"}]}],
        "outputs": [{"name": "returnData", "type": "tuple[]", "components": [
            {"name": "success", "type": "bool"}, {"name": "returnData", "type": "bytes"}]}],
    }])
    w.send(w.rebalancer.functions.set_roles(multicall.address, 1), w.owner)
    batches = [
        w.rebalancer.functions.execute(i, 2**40, [w.swap("USDC", "DAI", w.raw("USDC", 10)).as_abi()], [])._encode_transaction_data()
        for i in (1, 2)
    ]
    call = multicall.functions.aggregate3([(w.rebalancer.address, True, bytes.fromhex(d[2:])) for d in batches])
    results = call.call({"from": w.keeper})
    assert [ok for ok, _ in results] == [True, False]
    assert b"rebalancer: one batch per transaction" in results[1][1]
    w.send(call, w.keeper)
    assert w.rebalancer.functions.last_batch_id().call() == 1
