"""The BatchRebalancer on the devnet: deploy it, give it its roles and allowlists.

`deploy_rebalancer` is what the devnet recipe calls: it compiles `contracts/BatchRebalancer.vy`
(cached), deploys it owned by the devnet's owner account, and has the owner grant the keeper and
guardian roles and allowlist every token (with its feed), vault, the Aave pool and its aTokens, and
the Uniswap routers the address book names. It sends as unlocked anvil accounts, so it is for
devnets and forks only; `scripts/deploy.py` is the ape script for real networks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3

from keeper.chain.rebalancer import Role
from keeper.devnet.artifacts import CONTRACTS_DIR, vyper_artifact

# The devnet's feeds are updated by hand; a day keeps time-travel tests meaningful without
# making every test refresh prices. Real networks use each feed's heartbeat (see scripts/deploy.py).
DEVNET_STALENESS = 86_400  # seconds
DEVNET_MAX_LOSS_BPS = 100  # 1% of the value a batch sells
_GAS = 3_000_000
_EMPTY = "0x" + "00" * 20


@dataclass(frozen=True)
class RebalancerConfig:
    """What the owner allowlists. Addresses only: plain values the deploy script can also build."""

    feeds: Mapping[str, str]  # token -> its USD feed
    vaults: Iterable[str] = ()  # ERC-4626 vaults (their underlying must be in `feeds`)
    aave_pools: Iterable[str] = ()
    a_tokens: Mapping[str, str] = field(default_factory=dict)  # aToken -> its Aave pool
    routers: Mapping[str, str] = field(default_factory=dict)  # router -> spender it needs approved
    staleness: Mapping[str, int] = field(default_factory=dict)  # token -> seconds (default DEVNET_STALENESS)
    max_loss_bps: int = DEVNET_MAX_LOSS_BPS


def artifact():
    return vyper_artifact(CONTRACTS_DIR / "BatchRebalancer.vy")


def config_from_book(book: Any) -> RebalancerConfig:
    """The allowlists for everything the devnet address book holds (tokens, vaults, Aave, routers)."""
    feeds = {entry.address: entry.feed for entry in book.tokens.values()}
    routers = {}
    for section, key in (("uniswap_v3", "swap_router02"), ("uniswap_v2", "router")):
        router = getattr(book, section, {}).get(key)
        if router:
            routers[router] = router
    aave = getattr(book, "aave", None)
    pools = [aave.pool] if aave else []
    a_tokens = {a_token: aave.pool for a_token in aave.a_tokens.values()} if aave else {}
    return RebalancerConfig(
        feeds=feeds,
        vaults=[vault.address for vault in book.vaults.values()],
        aave_pools=pools,
        a_tokens=a_tokens,
        routers=routers,
    )


def deploy_rebalancer(w3: Web3, addresses: Any, owner: str, keeper: str, guardian: str) -> str:
    """Deploy and configure the rebalancer for the devnet address book `addresses`; its address."""
    rebalancer = deploy(w3, owner=owner, deployer=owner, max_loss_bps=DEVNET_MAX_LOSS_BPS)
    configure(w3, rebalancer, owner, config_from_book(addresses), keeper=keeper, guardian=guardian)
    return rebalancer.address


def deploy(
    w3: Web3,
    *,
    owner: str,
    deployer: str,
    max_loss_bps: int = DEVNET_MAX_LOSS_BPS,
    sequencer_feed: str = _EMPTY,
    sequencer_grace_period: int = 0,
    build: Any = None,
):
    """Deploy an unconfigured rebalancer; returns the web3 contract. `build` overrides the
    compiled artifact (tests deploy deliberately broken variants with it)."""
    art = build or artifact()
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    tx_hash = factory.constructor(
        to_checksum_address(owner), max_loss_bps, to_checksum_address(sequencer_feed), sequencer_grace_period
    ).transact({"from": to_checksum_address(deployer), "gas": 6_000_000})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise RuntimeError("BatchRebalancer deployment reverted")
    return w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)


def configure(w3: Web3, rebalancer: Any, owner: str, config: RebalancerConfig, *, keeper: str, guardian: str) -> None:
    """Send the owner's configuration transactions, in dependency order (plain assets first)."""
    owner = to_checksum_address(owner)
    fn = rebalancer.functions
    calls = [fn.set_roles(to_checksum_address(keeper), int(Role.KEEPER))]
    calls.append(fn.set_roles(to_checksum_address(guardian), int(Role.GUARDIAN)))
    if config.max_loss_bps != fn.max_loss_bps().call():
        calls.append(fn.set_max_loss_bps(config.max_loss_bps))
    for token, feed in config.feeds.items():
        staleness = config.staleness.get(token, DEVNET_STALENESS)
        calls.append(fn.set_asset(to_checksum_address(token), to_checksum_address(feed), staleness))
    calls += [fn.set_vault(to_checksum_address(vault)) for vault in config.vaults]
    calls += [fn.set_aave_pool(to_checksum_address(pool), True) for pool in config.aave_pools]
    calls += [fn.set_a_token(to_checksum_address(a), to_checksum_address(p)) for a, p in config.a_tokens.items()]
    calls += [fn.set_router(to_checksum_address(r), to_checksum_address(s)) for r, s in config.routers.items()]
    for call in calls:
        tx_hash = call.transact({"from": owner, "gas": _GAS})
        if w3.eth.wait_for_transaction_receipt(tx_hash)["status"] != 1:
            raise RuntimeError(f"rebalancer configuration reverted: {call.fn_name}{call.args}")
