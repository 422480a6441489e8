# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title HostileRouter (TEST ONLY)
@notice A swap router that is honest until a test makes it hostile: it pays 1 raw unit less than
        promised, pulls 1 more than it was given, or calls back into the rebalancer mid-swap.
        `forward` is an aggregator-style executor that calls anything with the keeper's calldata.
        Prices are whatever the calldata says: the test plays the market.
"""

from ethereum.ercs import IERC20


flag Mode:
    # Pay `amount_out - 1`.
    SHORT_ONE
    # Pull `amount_in + 1` from the caller.
    PULL_MORE
    # Call `reentry_target` with `reentry_data` mid-swap; its failure fails the swap.
    REENTER
    # The same call, but swallow its failure (record it in `reentry_succeeded`).
    REENTER_SWALLOW


mode: public(Mode)
reentry_target: public(address)
reentry_data: public(Bytes[4_096])
reentry_succeeded: public(bool)


@external
def set_mode(mode: Mode, reentry_target: address, reentry_data: Bytes[4_096]):
    self.mode = mode
    self.reentry_target = reentry_target
    self.reentry_data = reentry_data


@external
def swap(token_in: address, token_out: address, amount_in: uint256, amount_out: uint256, recipient: address):
    """
    @notice Pull `amount_in` of `token_in` from the caller, pay `amount_out` of `token_out` to
            `recipient` from this router's own inventory.
    """
    pulled: uint256 = amount_in
    if Mode.PULL_MORE in self.mode:
        pulled += 1
    assert extcall IERC20(token_in).transferFrom(msg.sender, self, pulled, default_return_value=True)
    if Mode.REENTER in self.mode:
        raw_call(self.reentry_target, self.reentry_data)
    if Mode.REENTER_SWALLOW in self.mode:
        self.reentry_succeeded = raw_call(self.reentry_target, self.reentry_data, revert_on_failure=False)
    paid: uint256 = amount_out
    if Mode.SHORT_ONE in self.mode:
        paid -= 1
    if paid != 0:
        assert extcall IERC20(token_out).transfer(recipient, paid, default_return_value=True)


@external
def forward(target: address, data: Bytes[4_096]):
    """
    @notice Call `target` with `data`, as a generic aggregator executor would.
    """
    raw_call(target, data)
