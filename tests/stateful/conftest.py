"""Fixtures for the stateful tests: the rebalancer world on one chain per session.

Hypothesis profiles: `default` (make test) runs 100 examples of 30 steps; KEEPER_FUZZ_PROFILE=release
(make fuzz) runs 1,000 of 50. The world comes from tests/contracts (`rebalancer_world`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from rebalancer_world import World

from keeper.devnet.devnet import Devnet
from keeper.errors import ConfigError

PROFILES = {"default": (100, 30), "release": (1_000, 50)}
# Seconds a whole machine run may take (pytest-timeout's 600 s default is for ordinary tests).
TIMEOUTS = {"default": 1_800, "release": 4 * 3_600}


def fuzz_timeout() -> int:
    return TIMEOUTS.get(os.environ.get("KEEPER_FUZZ_PROFILE", "default"), TIMEOUTS["default"])


def fuzz_settings(**overrides) -> settings:
    """The machine's settings for the KEEPER_FUZZ_PROFILE profile (default: `default`)."""
    name = os.environ.get("KEEPER_FUZZ_PROFILE", "default")
    if name not in PROFILES:
        raise pytest.UsageError(f"KEEPER_FUZZ_PROFILE={name!r}: use one of {', '.join(PROFILES)}")
    examples, steps = PROFILES[name]
    base = {
        "max_examples": examples, "stateful_step_count": steps, "deadline": None, "database": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    }
    return settings(**(base | overrides))


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
