# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title QuirkyToken (TEST ONLY)
@notice An ERC-20 with the quirks real tokens have: a fee taken on every transfer (burned), and
        approve-race protection (a non-zero allowance may only be set from zero). Anyone may mint.
"""

from ethereum.ercs import IERC20
implements: IERC20

BPS: constant(uint256) = 10_000

name: public(String[32])
symbol: public(String[8])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
fee_bps: public(uint256)
race_protected: public(bool)

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


@deploy
def __init__(symbol: String[8], decimals: uint8, fee_bps: uint256, race_protected: bool):
    self.name = symbol
    self.symbol = symbol
    self.decimals = decimals
    self.fee_bps = fee_bps
    self.race_protected = race_protected


@external
def mint(receiver: address, amount: uint256):
    self.balanceOf[receiver] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    self.allowance[sender][msg.sender] -= amount
    self._transfer(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    if self.race_protected:
        assert amount == 0 or self.allowance[msg.sender][spender] == 0, "quirky: approve from zero"
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    fee: uint256 = amount * self.fee_bps // BPS
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount - fee
    self.totalSupply -= fee
    log Transfer(sender=sender, receiver=receiver, value=amount - fee)
