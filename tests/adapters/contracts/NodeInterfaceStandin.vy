# pragma version 0.4.3
"""
@title Arbitrum NodeInterface stand-in, for tests only
@notice Placed at 0x00000000000000000000000000000000000000C8 with anvil_setCode. It answers
        gasEstimateComponents the way Nitro prices L1 data: the poster cost is
        l1BaseFeeEstimate * 16 * (calldata bytes + 140 bytes of padding), charged as L2 gas at the
        L2 base fee: gasEstimateForL1 = posterCost / baseFee. Nitro measures the brotli-compressed
        size; this stand-in uses the raw size (documented simplification). The L2 part is the
        intrinsic gas of the calldata (21000 + 4 per zero byte + 16 per non-zero byte) plus a fixed
        execution estimate.
"""

MAX_DATA: constant(uint256) = 8_192
PADDING: constant(uint256) = 140

baseFee: public(immutable(uint256))
l1BaseFeeEstimate: public(immutable(uint256))
executionGas: public(immutable(uint256))


@deploy
def __init__(base_fee: uint256, l1_base_fee_estimate: uint256, execution_gas: uint256):
    baseFee = base_fee
    l1BaseFeeEstimate = l1_base_fee_estimate
    executionGas = execution_gas


@external
@payable
def gasEstimateComponents(to: address, contractCreation: bool, data: Bytes[MAX_DATA]) -> (uint64, uint64, uint256, uint256):
    intrinsic: uint256 = 21_000
    for i: uint256 in range(len(data), bound=MAX_DATA):
        if convert(slice(data, i, 1), bytes1) == 0x00:
            intrinsic += 4
        else:
            intrinsic += 16
    poster_cost: uint256 = l1BaseFeeEstimate * 16 * (len(data) + PADDING)
    gas_for_l1: uint256 = poster_cost // baseFee
    return convert(intrinsic + executionGas + gas_for_l1, uint64), convert(gas_for_l1, uint64), baseFee, l1BaseFeeEstimate
