"""Shared fixtures: one devnet per test session, rewound around every test.

`devnet` gives each test the same starting chain: an `evm_snapshot` before, `evm_revert` after
(with automine and the next base fee put back, which a revert does not restore).
The session's anvil starts from the cached state dump (built once if the recipe changed).
Role fixtures name the accounts by what they do. `fork_url` is the real chain to fork, from
KEEPER_FORK_URL; tests that need it are skipped without it.
"""

from __future__ import annotations

import os

import pytest

from keeper.devnet.devnet import Devnet


@pytest.fixture(scope="session")
def devnet_session():
    with Devnet.start() as net:
        yield net


@pytest.fixture
def devnet(devnet_session):
    snapshot = devnet_session.snapshot()
    next_base_fee = devnet_session.rpc("eth_feeHistory", "0x1", "latest", [])["baseFeePerGas"][-1]
    yield devnet_session
    devnet_session.rpc("evm_setAutomine", True)  # the local relay turns it off while it runs
    devnet_session.revert(snapshot)
    # evm_revert does not restore anvil's base-fee tracker: put the next base fee back too
    devnet_session.set_next_base_fee(int(next_base_fee, 16))


@pytest.fixture
def demo_config(devnet):
    """examples/devnet.yaml, loaded after the devnet wrote the address book it names."""
    from keeper.config.loader import load_config
    from keeper.devnet.artifacts import REPO_ROOT

    return load_config(REPO_ROOT / "examples" / "devnet.yaml")


@pytest.fixture
def book(devnet):
    return devnet.book


@pytest.fixture
def w3(devnet):
    return devnet.w3


@pytest.fixture
def owner(book):
    return book.accounts["owner"]


@pytest.fixture
def keeper_account(book):
    return book.accounts["keeper"]


@pytest.fixture
def guardian(book):
    return book.accounts["guardian"]


@pytest.fixture
def stranger(book):
    return book.accounts["stranger"]


@pytest.fixture
def lp(book):
    return book.accounts["lp"]


@pytest.fixture(scope="session")
def fork_url():
    url = os.environ.get("KEEPER_FORK_URL")
    if not url:
        pytest.skip("set KEEPER_FORK_URL to an RPC URL to run fork tests")
    return url
