"""Each invariant of the stateful test, shown biting once: the real contract source with one
safety check cut out is compiled, deployed, and run through the same machine, which must fail
on exactly the invariant that the cut protects. The patches are applied to the current source,
so a refactor that moves a check makes this test fail loudly instead of testing nothing.
The machine's sixth check (outcomes equal the model's predictions) is off here: it would catch
every cut too, but the point is to see each of the five safety invariants catch its own."""

from __future__ import annotations

import pytest
from fuzz_profiles import fuzz_settings, fuzz_timeout
from hypothesis import Phase
from hypothesis.stateful import run_state_machine_as_test
from rebalancer_machine import machine_for
from rebalancer_world import World

from keeper.devnet.artifacts import CONTRACTS_DIR, vyper_artifact

# invariant -> [(text in BatchRebalancer.vy, its broken replacement)]
BROKEN = {
    "ids": [('assert batch_id > limits & _BATCH_ID_MASK, "rebalancer: batch id already used"', "pass")],
    "loss": [(
        'assert (value_before - value_after) * BPS <= value_sold * max_loss_bps, "rebalancer: loss bound"', "pass",
    )],
    "owner-only": [
        ("    self._check_owner()\n    self._send_to_owner(token, amount)", "    self._send_to_owner(token, amount)"),
        ("receiver: address = ownable.owner", "receiver: address = msg.sender"),
    ],
    "allowances": [(
        "if staticcall IERC20(token).allowance(self, spender) != 0:",
        "if staticcall IERC20(token).allowance(self, spender) == max_value(uint256):",
    )],
    "ledger": [('assert received >= min_out, "rebalancer: min out"', "pass")],
}


def broken_build(invariant: str, directory):
    source = (CONTRACTS_DIR / "BatchRebalancer.vy").read_text()
    for original, broken in BROKEN[invariant]:
        assert source.count(original) == 1, f"the check {original!r} moved: update BROKEN[{invariant!r}]"
        source = source.replace(original, broken)
    path = directory / f"BatchRebalancer_broken_{invariant.replace('-', '_')}.vy"
    path.write_text(source)
    return vyper_artifact(path)


@pytest.mark.timeout(fuzz_timeout())
@pytest.mark.parametrize("invariant", sorted(BROKEN))
def test_invariant__contract_with_the_check_cut__machine_fails_on_it(net, tmp_path, invariant):
    snapshot = net.snapshot()
    try:
        world = World(net, rebalancer_build=broken_build(invariant, tmp_path))
        settings = fuzz_settings(max_examples=300, phases=[Phase.generate], print_blob=False)
        with pytest.raises(AssertionError) as failure:
            run_state_machine_as_test(machine_for(world, check_outcomes=False), settings=settings)
    finally:
        net.revert(snapshot)
    assert str(failure.value).startswith(f"invariant {invariant}:"), str(failure.value)
