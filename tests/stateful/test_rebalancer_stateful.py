"""The rebalancer against random batches and random callers, checked against a shadow ledger
after every step (see rebalancer_machine for the rules and the six invariants)."""

from __future__ import annotations

import pytest
from fuzz_profiles import fuzz_settings, fuzz_timeout
from hypothesis.stateful import run_state_machine_as_test
from rebalancer_machine import machine_for


@pytest.mark.timeout(fuzz_timeout())
def test_rebalancer__random_batches_and_callers__invariants_hold(world):
    run_state_machine_as_test(machine_for(world), settings=fuzz_settings())
