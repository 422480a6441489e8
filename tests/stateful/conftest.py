"""Fixtures for the stateful tests: the rebalancer world on one chain per session.

The hypothesis profiles live in `fuzz_profiles`. The world comes from tests/contracts
(`rebalancer_world`), on a devnet process of this folder's own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from rebalancer_world import World

from keeper.devnet.devnet import Devnet
from keeper.errors import ConfigError


@pytest.fixture(scope="session")
def net():
    """A devnet of the stateful tests' own: the machine rewinds it after every example."""
    try:
        with Devnet.start() as devnet:
            yield devnet
    except ConfigError as e:
        pytest.skip(e.one_line())


@pytest.fixture(scope="session")
def world(net):
    return World(net)
