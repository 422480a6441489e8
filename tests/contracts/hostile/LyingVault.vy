# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title LyingVault (TEST ONLY)
@notice An ERC-4626-shaped vault that reports more than it pays: `convertToAssets` says one share
        is worth one asset and `deposit`/`redeem` return twice what they do, but redeeming pays
        only `PAY_BPS` of the assets and depositing mints one share per asset.
"""

from ethereum.ercs import IERC20

BPS: constant(uint256) = 10_000
PAY_BPS: public(constant(uint256)) = 9_000

asset: public(immutable(address))
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


@deploy
def __init__(underlying: address, decimals: uint8):
    asset = underlying
    self.decimals = decimals


@view
@external
def convertToAssets(shares: uint256) -> uint256:
    return shares


@external
def deposit(assets: uint256, receiver: address) -> uint256:
    assert extcall IERC20(asset).transferFrom(msg.sender, self, assets)
    self.balanceOf[receiver] += assets
    self.totalSupply += assets
    log Transfer(sender=empty(address), receiver=receiver, value=assets)
    return 2 * assets


@external
def redeem(shares: uint256, receiver: address, owner: address) -> uint256:
    assert msg.sender == owner, "lying vault: not owner"
    self.balanceOf[owner] -= shares
    self.totalSupply -= shares
    log Transfer(sender=owner, receiver=empty(address), value=shares)
    assert extcall IERC20(asset).transfer(receiver, shares * PAY_BPS // BPS)
    return 2 * shares


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=msg.sender, receiver=receiver, value=amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True
