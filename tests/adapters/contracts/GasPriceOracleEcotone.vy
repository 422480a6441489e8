# pragma version 0.4.3
"""
@title OP-stack GasPriceOracle stand-in (Ecotone formula), for tests only
@notice Placed at 0x420000000000000000000000000000000000000F with anvil_setCode so the keeper's
        reader runs against a real contract. Formula from ethereum-optimism/optimism
        GasPriceOracle.sol (Ecotone): calldataGas = 4 per zero byte + 16 per non-zero byte
        + 68 * 16; fee = calldataGas * (baseFeeScalar * 16 * l1BaseFee
        + blobBaseFeeScalar * blobBaseFee) / 16e6.
"""

MAX_TX: constant(uint256) = 8_192

l1BaseFee: public(immutable(uint256))
blobBaseFee: public(immutable(uint256))
baseFeeScalar: public(immutable(uint32))
blobBaseFeeScalar: public(immutable(uint32))


@deploy
def __init__(l1_base_fee: uint256, blob_base_fee: uint256, base_fee_scalar: uint32, blob_base_fee_scalar: uint32):
    l1BaseFee = l1_base_fee
    blobBaseFee = blob_base_fee
    baseFeeScalar = base_fee_scalar
    blobBaseFeeScalar = blob_base_fee_scalar


@external
@pure
def decimals() -> uint256:
    return 6


@external
@pure
def isEcotone() -> bool:
    return True


@external
@pure
def isFjord() -> bool:
    return False


@external
@view
def getL1GasUsed(_data: Bytes[MAX_TX]) -> uint256:
    return self._calldata_gas(_data)


@external
@view
def getL1Fee(_data: Bytes[MAX_TX]) -> uint256:
    scaled: uint256 = (
        convert(baseFeeScalar, uint256) * 16 * l1BaseFee
        + convert(blobBaseFeeScalar, uint256) * blobBaseFee
    )
    return self._calldata_gas(_data) * scaled // (16 * 10**6)


@internal
@pure
def _calldata_gas(_data: Bytes[MAX_TX]) -> uint256:
    total: uint256 = 68 * 16
    for i: uint256 in range(len(_data), bound=MAX_TX):
        if convert(slice(_data, i, 1), bytes1) == 0x00:
            total += 4
        else:
            total += 16
    return total
