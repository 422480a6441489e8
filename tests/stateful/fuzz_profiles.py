"""The stateful tests' hypothesis profiles, chosen with KEEPER_FUZZ_PROFILE.

`default` (make test): 100 examples of 30 steps. `release` (make fuzz, before releases): 1,000
examples of 50 steps. Each profile also has a timeout for one whole machine run, in seconds.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

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
