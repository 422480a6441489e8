"""Fixtures for the contract tests: one chain per session, rewound around every test.

`world_session` deploys the rebalancer world once; `world` gives each test the same starting
state (`evm_snapshot` before, `evm_revert` after). The chain is the temporary bare anvil of
`bare_chain.py` until the shared devnet fixture replaces it.
"""

from __future__ import annotations

import pytest

import bare_chain
from rebalancer_world import World


@pytest.fixture(scope="session")
def chain(tmp_path_factory):
    try:
        net = bare_chain.start(tmp_path_factory.mktemp("anvil"))
    except FileNotFoundError as e:
        pytest.skip(f"{e}")
    yield net
    net.stop()


@pytest.fixture(scope="session")
def world_session(chain):
    return World(chain)


@pytest.fixture
def world(world_session, chain):
    snapshot = chain.snapshot()
    yield world_session
    chain.revert(snapshot)
    world_session.reload_prices()


@pytest.fixture
def rebalancer(world):
    return world.rebalancer
