"""Hostile parts: each must make the batch revert or keep it within the loss bound, and leave no
allowance behind. The router, tokens and vault are in `hostile/`; feeds are real Chainlink mocks."""

from __future__ import annotations

import pytest
from rebalancer_world import reverts
from web3.exceptions import ContractLogicError

from keeper.chain.rebalancer import Role, Step, decode_batch

# HostileRouter.Mode
SHORT_ONE, PULL_MORE, REENTER, REENTER_SWALLOW = 1, 2, 4, 8


def no_allowance_left(w) -> bool:
    spenders = [w.router.address, *(v.address for v in w.vaults.values())]
    return all(w.allowance(symbol, s) == 0 for symbol in w.assets for s in spenders)


def set_mode(w, mode, target=None, data=b""):
    w.send(w.router.functions.set_mode(mode, target or w.rebalancer.address, data), w.deployer)


def calldata(contract, fn, *args) -> bytes:
    return bytes.fromhex(contract.encode_abi(fn, args=list(args))[2:])


# -- routers -------------------------------------------------------------------------------


def test_router__pays_one_unit_below_min_out__reverts(world):
    w = world
    set_mode(w, SHORT_ONE)
    with reverts("rebalancer: min out"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000))])
    assert no_allowance_left(w)


def test_router__pulls_more_than_approved__reverts(world):
    w = world
    set_mode(w, PULL_MORE)
    with reverts():  # the token itself refuses: the allowance is exactly amount_in
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000))])
    assert w.balance("USDC") == w.raw("USDC", 1_000_000)
    assert no_allowance_left(w)


@pytest.mark.parametrize("min_out, reason", [(None, "rebalancer: min out"), (0, "rebalancer: loss bound")])
def test_router__sends_output_elsewhere__reverts(world, min_out, reason):
    w = world
    with reverts(reason):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000), min_out=min_out, recipient=w.stranger)])
    assert w.balance("DAI", w.stranger) == 0
    assert no_allowance_left(w)


def test_router__reenters_execute_as_a_keeper__whole_batch_reverts(world):
    # Worst case: the owner also made the router a keeper. The lock refuses the inner batch.
    w = world
    w.send(w.rebalancer.functions.set_roles(w.router.address, int(Role.KEEPER)), w.owner)
    inner = w.rebalancer.functions.execute(99, 2**40, [w.swap("DAI", "USDC", w.raw("DAI", 1)).as_abi()], [])
    set_mode(w, REENTER, data=bytes.fromhex(inner._encode_transaction_data()[2:]))
    with reverts(""):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000))])
    assert w.rebalancer.functions.last_batch_id().call() == 0
    assert no_allowance_left(w)


@pytest.mark.parametrize("fn, args", [
    ("execute", lambda w: (99, 2**40, [], [])),
    ("sweep", lambda w: (w.address("USDC"),)),
    ("set_roles", lambda w: (w.router.address, int(Role.KEEPER))),
    ("last_batch_id", lambda w: ()),
])
def test_router__reentry_swallowed__inner_call_fails_and_nothing_moves(world, fn, args):
    w = world
    w.send(w.rebalancer.functions.set_roles(w.router.address, int(Role.KEEPER)), w.owner)
    set_mode(w, REENTER_SWALLOW, data=calldata(w.rebalancer, fn, *args(w)))
    w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000))])
    assert w.router.functions.reentry_succeeded().call() is False
    assert w.balance("USDC") == w.raw("USDC", 999_000)
    assert no_allowance_left(w)


# -- calldata that reaches for the contract's tokens -----------------------------------------


def test_calldata__transfer_from_of_the_approved_token__caught_by_min_out_and_loss(world):
    # An aggregator executor spends the exact approval on a transferFrom to a thief.
    w = world
    steal = calldata(w.assets["USDC"].token, "transferFrom", w.rebalancer.address, w.stranger, w.raw("USDC", 1_000))
    data = calldata(w.router, "forward", w.address("USDC"), steal)
    for min_out, reason in ((w.raw("DAI", 1_000), "rebalancer: min out"), (0, "rebalancer: loss bound")):
        with reverts(reason):
            w.execute([Step.swap(w.router.address, w.address("USDC"), w.address("DAI"), w.raw("USDC", 1_000), min_out, data)])
    assert w.balance("USDC", w.stranger) == 0
    assert no_allowance_left(w)


def test_calldata__transfer_from_of_another_token__refused_by_the_token(world):
    w = world
    steal = calldata(w.assets["WETH"].token, "transferFrom", w.rebalancer.address, w.stranger, 1)
    data = calldata(w.router, "forward", w.address("WETH"), steal)
    with reverts():
        w.execute([Step.swap(w.router.address, w.address("USDC"), w.address("DAI"), w.raw("USDC", 1_000), 0, data)])
    assert w.balance("WETH", w.stranger) == 0


def test_calldata__vault_redeem_for_the_contract__refused_by_the_vault(world):
    w = world
    steal = calldata(w.vaults["vault_usdc_a"], "redeem", 1, w.stranger, w.rebalancer.address)
    data = calldata(w.router, "forward", w.address("vault_usdc_a"), steal)
    with reverts():
        w.execute([Step.swap(w.router.address, w.address("USDC"), w.address("DAI"), w.raw("USDC", 1_000), 0, data)])


def test_calldata__token_or_vault_as_router__refused(world):
    w = world
    for target in ("USDC", "vault_usdc_a"):
        transfer = calldata(w.assets["USDC"].token, "transfer", w.stranger, 1)
        with reverts("rebalancer: router not allowed"):
            w.execute([Step.swap(w.address(target), w.address("USDC"), w.address("DAI"), 1, 0, transfer)])


@pytest.mark.parametrize("target", ["USDC", "vault_dai"])
def test_config__asset_as_router__refused(world, target):
    w = world
    with reverts("rebalancer: router is an asset"):
        w.send(w.rebalancer.functions.set_router(w.address(target), w.address(target)), w.owner)


def test_config__router_as_asset_or_pool__refused(world):
    w = world
    with reverts("rebalancer: asset is a router"):
        w.send(w.rebalancer.functions.set_asset(w.router.address, w.assets["DAI"].feed.address, 60), w.owner)
    with reverts("rebalancer: pool is a router"):
        w.send(w.rebalancer.functions.set_aave_pool(w.router.address, True), w.owner)


# -- tokens --------------------------------------------------------------------------------


def test_fee_token__bought__min_out_is_measured_after_the_fee(world):
    w = world
    promised = w.raw("FEE", 1_000)
    with reverts("rebalancer: min out"):
        w.execute([w.swap("USDC", "FEE", w.raw("USDC", 1_000), promised)])
    # Asking for what actually arrives (99%) passes: 1% of the value sold is within 100 bps.
    receipt = w.execute([w.swap("USDC", "FEE", w.raw("USDC", 1_000), promised, min_out=promised * 99 // 100)])
    assert decode_batch(w.rebalancer, receipt).steps[0].received == promised * 99 // 100
    assert no_allowance_left(w)


def test_fee_token__loss_beyond_the_bound__reverts(world):
    w = world
    w.send(w.rebalancer.functions.set_max_loss_bps(50), w.owner)
    with reverts("rebalancer: loss bound"):
        w.execute([w.swap("USDC", "FEE", w.raw("USDC", 1_000), min_out=0)])


def test_fee_token__sold__spent_is_the_amount(world):
    w = world
    receipt = w.execute([w.swap("FEE", "USDC", w.raw("FEE", 1_000))])
    assert decode_batch(w.rebalancer, receipt).steps[0].spent == w.raw("FEE", 1_000)
    assert no_allowance_left(w)


def test_no_return_token__swapped_both_ways__works_and_allowance_zero(world):
    w = world
    w.execute([w.swap("NORET", "USDC", w.raw("NORET", 1_000)), w.swap("USDC", "NORET", w.raw("USDC", 500))])
    assert w.balance("NORET") == w.raw("NORET", 99_500)
    assert no_allowance_left(w)


@pytest.mark.parametrize("symbol", ["NORET", "RACE"])
def test_race_protected_token__partial_pulls_twice__revoked_between_steps(world, symbol):
    # The router pulls half of what was approved; the rest must be revoked, or the second
    # approve of a race-protected token would revert.
    w = world
    amount = w.raw(symbol, 1_000)
    steps = []
    for _ in range(2):
        full = w.swap(symbol, "USDC", amount // 2, w.raw("USDC", 500))
        steps.append(Step.swap(full.target, full.token_in, full.token_out, amount, full.min_out, full.data))  # no offset
    receipt = w.execute(steps)
    assert [s.spent for s in decode_batch(w.rebalancer, receipt).steps] == [amount // 2] * 2
    assert no_allowance_left(w)


# -- vaults --------------------------------------------------------------------------------


def test_lying_vault__redeem_trusting_its_report__min_out_reverts(world):
    w = world
    shares = w.raw("USDC", 10_000)
    with reverts("rebalancer: min out"):
        w.execute([w.redeem("LIAR", shares, min_assets=shares)])


def test_lying_vault__redeem_without_minimum__loss_bound_reverts(world):
    w = world
    with reverts("rebalancer: loss bound"):
        w.execute([w.redeem("LIAR", w.raw("USDC", 10_000), min_assets=0)])


def test_lying_vault__deposit_trusting_its_returned_shares__min_out_reverts(world):
    w = world
    assets = w.raw("USDC", 10_000)
    with reverts("rebalancer: min out"):
        w.execute([w.deposit("LIAR", assets, min_shares=2 * assets)])  # it returns 2x
    receipt = w.execute([w.deposit("LIAR", assets, min_shares=assets)])  # it mints 1x
    assert decode_batch(w.rebalancer, receipt).steps[0].received == assets
    assert no_allowance_left(w)


# -- feeds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [0, -1, -(10**8)])
def test_feed__zero_or_negative__reverts(world, answer):
    w = world
    w.send(w.assets["DAI"].feed.functions.updateAnswer(answer), w.deployer)
    with reverts("rebalancer: price not positive"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000), w.raw("DAI", 1_000))])
    with pytest.raises(ContractLogicError, match="rebalancer: price not positive"):
        w.rebalancer.functions.price_of(w.address("DAI")).call()


def test_feed__stale__reverts_and_fresh_passes(world):
    w = world
    feed = w.assets["DAI"].feed.functions
    staleness = w.rebalancer.functions.asset_config(w.address("DAI")).call()[2]
    now = w.now()
    w.send(feed.updateRoundData(7, 10**8, now - staleness - 10, now - staleness - 10), w.deployer)
    with reverts("rebalancer: stale price"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000))])
    w.send(feed.updateRoundData(8, 10**8, now, now), w.deployer)
    w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000))])


def test_feed__everything_stale_after_time_passes__reverts(world):
    w = world
    w.warp(2 * 86_400)
    with reverts("rebalancer: stale price"):
        w.execute([w.swap("USDC", "DAI", w.raw("USDC", 1_000))])


def test_feed__stale_underlying__vault_share_value_reverts(world):
    w = world
    now = w.now()
    w.send(w.assets["USDC"].feed.functions.updateRoundData(9, 10**8, now - 10**6, now - 10**6), w.deployer)
    with reverts("rebalancer: stale price"):
        w.execute([w.redeem("vault_usdc_a", w.raw("USDC", 1))])


def test_price_of__shares__priced_through_the_underlying(world):
    w = world
    assert w.rebalancer.functions.price_of(w.address("vault_usdc_a")).call() == 10**18
    assert w.rebalancer.functions.price_of(w.address("WBTC")).call() == 60_000 * 10**18


# -- sequencer (L2) ------------------------------------------------------------------------


@pytest.fixture
def l2(world):
    """A second rebalancer that respects a sequencer-uptime feed with a 1-hour grace period."""
    from keeper.chain.rebalancer_setup import parse_setup
    from keeper.devnet import rebalancer as devnet_rebalancer

    w = world
    sequencer = w.txs.deploy(w._feed, 0, 0)
    setup = parse_setup({
        "max_loss_bps": 100, "keepers": [w.keeper], "guardians": [w.guardian],
        "sequencer": {"feed": sequencer.address, "grace_period": 3_600},
        "assets": {s: {"token": w.address(s), "feed": w.assets[s].feed.address, "staleness": 86_400} for s in ("USDC", "DAI")},
        "routers": {w.router.address: w.router.address},
    })
    contract = devnet_rebalancer.deploy(w.w3, setup, owner=w.owner, deployer=w.deployer)
    devnet_rebalancer.configure(w.w3, contract, w.owner, setup)
    w.give("USDC", contract.address, w.raw("USDC", 10_000))
    return contract, sequencer


def _l2_batch(w, contract, batch_id):
    step = w.swap("USDC", "DAI", w.raw("USDC", 100), recipient=contract.address)
    return contract.functions.execute(batch_id, 2**40, [step.as_abi()], [])


def test_sequencer__down__reverts(world, l2):
    w = world
    contract, sequencer = l2
    now = w.now()
    w.send(sequencer.functions.updateRoundData(2, 1, now, now - 10_000), w.deployer)
    with reverts("rebalancer: sequencer down"):
        w.send(_l2_batch(w, contract, 1), w.keeper)


def test_sequencer__back_up_within_grace__reverts_then_passes_after(world, l2):
    w = world
    contract, sequencer = l2
    now = w.now()
    w.send(sequencer.functions.updateRoundData(3, 0, now, now - 600), w.deployer)
    with reverts("rebalancer: sequencer grace period"):
        w.send(_l2_batch(w, contract, 1), w.keeper)
    w.send(sequencer.functions.updateRoundData(4, 0, now, now - 3_700), w.deployer)
    w.send(_l2_batch(w, contract, 1), w.keeper)


def test_sequencer__l1_deployment__no_feed_read(world):
    assert world.rebalancer.functions.SEQUENCER_FEED().call() == "0x" + "00" * 20
