"""Fixtures for the contract tests: a rebalancer world on a devnet of their own, rewound per test.

The world (hostile contracts, a funded rebalancer) is deployed once per session on a separate
devnet process, so nothing it does leaks into the shared `devnet` other test folders use; each
test starts from the same state (`evm_snapshot` before, `evm_revert` after).
"""

from __future__ import annotations

import pytest
from rebalancer_world import World

from keeper.devnet.devnet import Devnet
from keeper.errors import ConfigError


@pytest.fixture(scope="session")
def net():
    try:
        with Devnet.start() as devnet:
            yield devnet
    except ConfigError as e:
        pytest.skip(e.one_line())


@pytest.fixture(scope="session")
def world_session(net):
    return World(net)


@pytest.fixture
def world(world_session, net):
    snapshot = net.snapshot()
    yield world_session
    net.rpc("evm_setAutomine", True)
    net.revert(snapshot)
    world_session.reload_prices()


@pytest.fixture
def rebalancer(world):
    return world.rebalancer
