"""The BatchRebalancer on the devnet: deploy it, give it its roles and allowlists.

`deploy_rebalancer` is what the devnet recipe calls: it compiles `contracts/BatchRebalancer.vy`
(cached), deploys it owned by the devnet's owner account, and has the owner grant the keeper and
guardian roles and allowlist every token (with its feed), vault, the Aave pool and its aTokens,
and the Uniswap routers the address book names (`setup_from_book`). It sends as unlocked anvil
accounts, so it is for devnets and forks only; `scripts/deploy.py` (ape) is for real networks.
Both follow the same plan: `keeper.chain.rebalancer_setup.configuration_calls`.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError

from keeper.chain.rebalancer_setup import (
    EMPTY_ADDRESS,
    RebalancerSetup,
    configuration_calls,
    parse_setup,
)
from keeper.devnet.artifacts import CONTRACTS_DIR, vyper_artifact

# The devnet's feeds are updated by hand; a day keeps time-travel tests meaningful without
# making every test refresh prices. Real networks use each feed's heartbeat (scripts/deploy.py).
DEVNET_STALENESS = 86_400  # seconds
DEVNET_MAX_LOSS_BPS = 100  # 1% of the value a batch sells
_DEPLOY_GAS = 6_000_000
_GAS = 3_000_000


def artifact():
    return vyper_artifact(CONTRACTS_DIR / "BatchRebalancer.vy")


def setup_from_book(book: Any, *, keeper: str, guardian: str, max_loss_bps: int = DEVNET_MAX_LOSS_BPS) -> RebalancerSetup:
    """The configuration for everything the devnet address book holds."""
    routers = {}
    for section, key in (("uniswap_v3", "swap_router02"), ("uniswap_v2", "router")):
        router = (getattr(book, section, None) or {}).get(key)
        if router:
            routers[router] = router  # Uniswap routers pull with their own address
    aave = getattr(book, "aave", None)
    return parse_setup({
        "max_loss_bps": max_loss_bps,
        "keepers": [keeper],
        "guardians": [guardian],
        "assets": {
            symbol: {"token": entry.address, "feed": entry.feed, "staleness": DEVNET_STALENESS}
            for symbol, entry in book.tokens.items()
        },
        "vaults": [vault.address for vault in book.vaults.values()],
        "aave": [{"pool": aave.pool, "a_tokens": list(aave.a_tokens.values())}] if aave else [],
        "routers": routers,
    }, "devnet address book")


def deploy_rebalancer(w3: Web3, addresses: Any, owner: str, keeper: str, guardian: str) -> str:
    """Deploy and configure the rebalancer for the devnet address book `addresses`; its address."""
    setup = setup_from_book(addresses, keeper=keeper, guardian=guardian)
    rebalancer = deploy(w3, setup, owner=owner, deployer=owner)
    configure(w3, rebalancer, owner, setup)
    return rebalancer.address


def deploy(w3: Web3, setup: RebalancerSetup, *, owner: str, deployer: str, build: Any = None):
    """Deploy an unconfigured rebalancer (constructor values from `setup`); the web3 contract.
    `build` overrides the compiled artifact (tests deploy deliberately broken variants)."""
    art = build or artifact()
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    tx_hash = factory.constructor(
        to_checksum_address(owner), setup.max_loss_bps, setup.sequencer_feed or EMPTY_ADDRESS, setup.sequencer_grace_period,
    ).transact({"from": to_checksum_address(deployer), "gas": _DEPLOY_GAS})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise RuntimeError("BatchRebalancer deployment reverted")
    return w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)


def configure(w3: Web3, rebalancer: Any, owner: str, setup: RebalancerSetup) -> None:
    """Send the owner's configuration calls (and the loss bound, if it differs)."""
    owner = to_checksum_address(owner)
    calls = configuration_calls(setup)
    if rebalancer.functions.max_loss_bps().call() != setup.max_loss_bps:
        calls.insert(0, ("set_max_loss_bps", (setup.max_loss_bps,)))
    for name, args in calls:
        call = rebalancer.get_function_by_name(name)(*args)
        tx = {"from": owner, "gas": _GAS}
        receipt = w3.eth.wait_for_transaction_receipt(call.transact(tx))
        if receipt["status"] != 1:
            raise RuntimeError(f"rebalancer configuration {name}{args} reverted: {_reason(call, tx)}")


def _reason(call: Any, tx: dict) -> str:
    try:
        call.call(tx)
    except ContractLogicError as e:
        return e.message or "no reason"
    return "no reason"
