# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title NoReturnToken (TEST ONLY)
@notice USDT-style: `transfer`, `transferFrom` and `approve` return nothing, and a non-zero
        allowance may only be set from zero. Anyone may mint.
"""

name: public(String[32])
symbol: public(String[8])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


@deploy
def __init__(symbol: String[8], decimals: uint8):
    self.name = symbol
    self.symbol = symbol
    self.decimals = decimals


@external
def mint(receiver: address, amount: uint256):
    self.balanceOf[receiver] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def transfer(receiver: address, amount: uint256):
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=msg.sender, receiver=receiver, value=amount)


@external
def transferFrom(sender: address, receiver: address, amount: uint256):
    self.allowance[sender][msg.sender] -= amount
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def approve(spender: address, amount: uint256):
    assert amount == 0 or self.allowance[msg.sender][spender] == 0, "usdt: approve from zero"
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
