"""The owner's configuration: what it refuses, what it stores, and that the shipped ABI matches
the contract; plus the keeper-side batch checks that run before anything is signed."""

from __future__ import annotations

import json

import pytest
from rebalancer_world import reverts

from keeper.chain import rebalancer as rb
from keeper.chain.rebalancer import ALL, AssetKind, Batch, PostCondition, Step, StepKind
from keeper.devnet.rebalancer import artifact
from keeper.errors import ConfigError

A = "0x" + "11" * 20
B = "0x" + "22" * 20


def test_abi__shipped_json__matches_the_compiled_contract():
    assert rb.abi() == json.loads(json.dumps(artifact().abi)), "run: regenerate keeper/chain/abi/BatchRebalancer.json"


def test_asset_config__plain_vault__unpacked(world):
    w = world
    kind, link, staleness, feed_decimals, decimals = w.rebalancer.functions.asset_config(w.address("WBTC")).call()
    assert (kind, link, staleness, feed_decimals, decimals) == (AssetKind.PLAIN, w.assets["WBTC"].feed.address, 86_400, 8, 8)
    kind, link, *_ = w.rebalancer.functions.asset_config(w.address("vault_dai")).call()
    assert (kind, link) == (AssetKind.VAULT, w.address("DAI"))


def test_set_vault__underlying_not_plain__refused(world):
    w = world
    w.send(w.rebalancer.functions.remove_asset(w.address("DAI")), w.owner)
    with reverts("rebalancer: underlying is not a plain asset"):
        w.send(w.rebalancer.functions.set_vault(w.address("vault_dai")), w.owner)


def test_remove_asset__underlying_removed__vault_batches_revert(world):
    w = world
    w.send(w.rebalancer.functions.remove_asset(w.address("DAI")), w.owner)
    with reverts("rebalancer: asset not allowed"):
        w.execute([w.redeem("vault_dai", 10**18)])


@pytest.mark.parametrize("staleness", [0, 2**32])
def test_set_asset__staleness_out_of_range__refused(world, staleness):
    w = world
    with reverts("rebalancer: staleness out of range"):
        w.send(w.rebalancer.functions.set_asset(w.address("DAI"), w.assets["DAI"].feed.address, staleness), w.owner)


def test_set_asset__self_or_empty__refused(world):
    w = world
    for token in (w.rebalancer.address, "0x" + "00" * 20):
        with reverts("rebalancer: asset is empty or self"):
            w.send(w.rebalancer.functions.set_asset(token, w.assets["DAI"].feed.address, 60), w.owner)


def test_set_max_loss_bps__above_10000__refused(world):
    with reverts("rebalancer: max loss above 10_000 bps"):
        world.send(world.rebalancer.functions.set_max_loss_bps(10_001), world.owner)


def test_set_router__self__refused(world):
    w = world
    with reverts("rebalancer: router is empty or self"):
        w.send(w.rebalancer.functions.set_router(w.rebalancer.address, w.rebalancer.address), w.owner)


def test_set_router__empty_spender__removes_it(world):
    w = world
    w.send(w.rebalancer.functions.set_router(w.router.address, "0x" + "00" * 20), w.owner)
    with reverts("rebalancer: router not allowed"):
        w.execute([w.swap("USDC", "DAI", 10**6)])


def test_set_a_token__pool_not_allowed__refused(world):
    w = world
    with reverts("rebalancer: Aave pool not allowed"):
        w.send(w.rebalancer.functions.set_a_token(w.address("vault_dai"), A), w.owner)


def test_set_aave_pool__asset__refused(world):
    w = world
    with reverts("rebalancer: pool is an asset"):
        w.send(w.rebalancer.functions.set_aave_pool(w.address("DAI"), True), w.owner)


def test_config_events__logged(world):
    w = world
    receipt = w.send(w.rebalancer.functions.set_max_loss_bps(42), w.owner)
    (event,) = w.rebalancer.events.MaxLossSet().process_receipt(receipt)
    assert event.args.max_loss_bps == 42


# -- keeper-side checks (no chain) ----------------------------------------------------------


def test_step__all_without_offset__refused():
    with pytest.raises(ConfigError, match="amount_offset"):
        Step.swap(A, A, B, ALL, 0, b"\x00" * 100)


def test_step__same_token__refused():
    with pytest.raises(ConfigError, match="token_in and token_out"):
        Step.swap(A, A, A, 1, 0, b"")


def test_step__calldata_on_vault_step__refused():
    with pytest.raises(ConfigError, match="only swaps carry router calldata"):
        Step(StepKind.VAULT_DEPOSIT, A, B, A, 1, 0, b"\x01")


@pytest.mark.parametrize("amount", [0, -1, 2**256, 1.5, True])
def test_step__bad_amount__refused_naming_the_field(amount):
    with pytest.raises(ConfigError, match="step.amount_in"):
        Step.swap(A, A, B, amount, 0, b"")


def test_step__offset_outside_calldata__refused():
    with pytest.raises(ConfigError, match="amount_offset"):
        Step.swap(A, A, B, 1, 0, b"\x00" * 40, amount_offset=10)


def test_step__not_an_address__refused():
    with pytest.raises(ConfigError, match="step.target"):
        Step.swap("0x1234", A, B, 1, 0, b"")


def test_batch__too_many_steps__refused():
    step = Step.swap(A, A, B, 1, 0, b"")
    with pytest.raises(ConfigError, match="1..16"):
        Batch(1, 2**40, tuple([step] * 17))


def test_batch__args__in_abi_order():
    step = Step.vault_deposit(B, A, 5, 4)
    batch = Batch(3, 100, (step,), (PostCondition(A, 9),))
    assert batch.args() == (3, 100, [(2, step.target, step.token_in, step.token_out, 5, 4, 0, b"")], [(step.token_in, 9)])
