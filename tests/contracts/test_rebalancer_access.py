"""The access-control matrix: every external function of the rebalancer against the owner, the
keeper, the guardian and a stranger. Allowed callers succeed; everyone else is refused with the
function's access reason, and the refusal leaves state as it was."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address
from rebalancer_world import reverts

from keeper.chain.rebalancer import Role, abi

CALLERS = ("owner", "keeper", "guardian", "stranger")
NOT_OWNER = "rebalancer: not owner"
NEW = to_checksum_address("0x00000000000000000000000000000000000c0ffe")


def _setup_pending_owner(w):
    w.send(w.rebalancer.functions.transfer_ownership(w.stranger), w.owner)


def _setup_paused(w):
    w.send(w.rebalancer.functions.pause(), w.owner)


# function -> (call builder, callers allowed, refusal reason, setup by the owner first)
MATRIX = {
    "execute": (lambda w: w.rebalancer.functions.execute(1, 2**40, [w.swap("USDC", "DAI", 10**6).as_abi()], []),
                {"keeper"}, "rebalancer: not keeper", None),
    "set_roles": (lambda w: w.rebalancer.functions.set_roles(NEW, int(Role.KEEPER)), {"owner"}, NOT_OWNER, None),
    "set_max_loss_bps": (lambda w: w.rebalancer.functions.set_max_loss_bps(50), {"owner"}, NOT_OWNER, None),
    "set_router": (lambda w: w.rebalancer.functions.set_router(NEW, NEW), {"owner"}, NOT_OWNER, None),
    "set_asset": (lambda w: w.rebalancer.functions.set_asset(w.address("DAI"), w.assets["DAI"].feed.address, 3_600),
                  {"owner"}, NOT_OWNER, None),
    "set_vault": (lambda w: w.rebalancer.functions.set_vault(w.address("vault_dai")), {"owner"}, NOT_OWNER, None),
    "set_aave_pool": (lambda w: w.rebalancer.functions.set_aave_pool(NEW, True), {"owner"}, NOT_OWNER, None),
    "set_a_token": (lambda w: w.rebalancer.functions.set_a_token(*w.a_token_args()), {"owner"}, NOT_OWNER, None),
    "remove_asset": (lambda w: w.rebalancer.functions.remove_asset(w.address("FEE")), {"owner"}, NOT_OWNER, None),
    "pause": (lambda w: w.rebalancer.functions.pause(), {"owner", "guardian"}, "rebalancer: not guardian or owner", None),
    "unpause": (lambda w: w.rebalancer.functions.unpause(), {"owner"}, NOT_OWNER, _setup_paused),
    "withdraw": (lambda w: w.rebalancer.functions.withdraw(w.address("USDC"), 1), {"owner"}, NOT_OWNER, None),
    "sweep": (lambda w: w.rebalancer.functions.sweep(w.address("DAI")), {"owner"}, NOT_OWNER, None),
    "transfer_ownership": (lambda w: w.rebalancer.functions.transfer_ownership(NEW), {"owner"},
                           "ownable: caller is not the owner", None),
    "accept_ownership": (lambda w: w.rebalancer.functions.accept_ownership(), {"stranger"},
                         "ownable_2step: caller is not the new owner", _setup_pending_owner),
}


def _state(w) -> tuple:
    """Everything a refused call must leave untouched."""
    f = w.rebalancer.functions
    return (
        f.owner().call(), f.pending_owner().call(), f.paused().call(), f.max_loss_bps().call(), f.last_batch_id().call(),
        f.roles(NEW).call(), f.routers(NEW).call(), f.aave_pools(NEW).call(),
        tuple(f.asset_config(w.address(s)).call() for s in ("DAI", "FEE")), f.asset_config(w.address("vault_dai")).call(),
        tuple(w.balance(s) for s in ("USDC", "DAI")),
    )


def test_matrix__covers_every_state_changing_function():
    changing = {f["name"] for f in abi() if f["type"] == "function" and f["stateMutability"] not in ("view", "pure")}
    assert changing == set(MATRIX)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("function", sorted(MATRIX))
def test_access__function_by_caller__allowed_or_refused(world, function, caller):
    w = world
    build, allowed, reason, setup = MATRIX[function]
    if function == "set_a_token" and not w.has_aave:
        pytest.skip("set_a_token needs an Aave market (the shared devnet's)")
    if setup:
        setup(w)
    sender = {"owner": w.owner, "keeper": w.keeper, "guardian": w.guardian, "stranger": w.stranger}[caller]
    if caller in allowed:
        receipt = w.send(build(w), sender)
        assert receipt["status"] == 1
    else:
        before = _state(w)
        with reverts(reason):
            w.send(build(w), sender)
        assert _state(w) == before


@pytest.mark.parametrize("function", ["withdraw", "sweep"])
def test_funds__owner_withdraws__only_to_the_owner(world, function):
    w = world
    held = w.balance("DAI")
    owner_before = w.balance("DAI", w.owner)
    call = w.rebalancer.functions.withdraw(w.address("DAI"), 5) if function == "withdraw" else w.rebalancer.functions.sweep(w.address("DAI"))
    w.send(call, w.owner)
    moved = 5 if function == "withdraw" else held
    assert w.balance("DAI", w.owner) == owner_before + moved
    assert w.balance("DAI") == held - moved


def test_funds__no_return_token__withdrawn(world):
    w = world
    w.send(w.rebalancer.functions.withdraw(w.address("NORET"), 7), w.owner)
    assert w.balance("NORET", w.owner) == 7


def test_ownership__two_steps__new_owner_takes_over_and_old_owner_is_refused(world):
    w = world
    f = w.rebalancer.functions
    w.send(f.transfer_ownership(w.stranger), w.owner)
    assert f.owner().call() == w.owner  # nothing changes until accepted
    w.send(f.accept_ownership(), w.stranger)
    assert f.owner().call() == w.stranger and f.pending_owner().call() == "0x" + "00" * 20
    with reverts(NOT_OWNER):
        w.send(f.withdraw(w.address("USDC"), 1), w.owner)
    w.send(f.sweep(w.address("USDC")), w.stranger)
    assert w.balance("USDC") == 0


def test_ownership__renounce__not_exposed():
    assert "renounce_ownership" not in {f.get("name") for f in abi()}


def test_roles__revoked_keeper__refused(world):
    w = world
    w.send(w.rebalancer.functions.set_roles(w.keeper, 0), w.owner)
    with reverts("rebalancer: not keeper"):
        w.execute([w.swap("USDC", "DAI", 10**6)])


def test_roles__guardian__cannot_unpause_or_execute(world):
    w = world
    w.send(w.rebalancer.functions.pause(), w.guardian)
    with reverts(NOT_OWNER):
        w.send(w.rebalancer.functions.unpause(), w.guardian)
    with reverts("rebalancer: not keeper"):
        w.execute([w.swap("USDC", "DAI", 10**6)], sender=w.guardian)
