"""The demo treasury: a drifted portfolio on the devnet for the keeper to rebalance.

`examples/devnet.yaml` declares it (targets, bands, where each asset sits).

Roughly seed 000's shape at $90k on-chain: too much ETH after a rally, too little of the alt L1
and DeFi tokens, stablecoins spread over a wallet, two ERC-4626 vaults and Aave. The holder is
the treasury's on-chain account (the BatchRebalancer, once deployed).
"""

from __future__ import annotations

from decimal import Decimal

from keeper.devnet import market
from keeper.devnet.artifacts import vyper_artifact
from keeper.devnet.book import AddressBook
from keeper.devnet.recipe import aave_artifact, artifact, snekmate_vault_source
from keeper.devnet.txs import Txs
from keeper.money import to_raw

# whole tokens held directly
WALLET: dict[str, Decimal] = {
    "WETH": Decimal("12"),
    "WBTC": Decimal("0.25"),
    "USDC": Decimal("8000"),
    "USDT": Decimal("2000"),
    "DAI": Decimal("1000"),
    "SOL": Decimal("40"),
    "UNI": Decimal("500"),
}
# underlying tokens deposited into ERC-4626 vaults (vault key -> amount of its asset)
VAULT_DEPOSITS: dict[str, Decimal] = {
    "vault_usdc_a": Decimal("5000"),
    "vault_usdc_b": Decimal("3000"),
    "vault_dai": Decimal("4000"),
}
# underlying tokens supplied to Aave V3 on the treasury's behalf
AAVE_SUPPLIES: dict[str, Decimal] = {"USDC": Decimal("6000")}


def fund_demo_treasury(tx: Txs, book: AddressBook, holder: str) -> None:
    """Put the demo portfolio at `holder`: wallet tokens, vault shares and aTokens.

    A funder account (the devnet's liquidity provider) pays for everything, so the treasury's
    own history starts clean.
    """
    funder = book.accounts["lp"]
    erc20 = artifact("erc20")
    for symbol, tokens in WALLET.items():
        raw = to_raw(tokens, market.token(symbol).decimals)
        tx.send(tx.contract(book.token(symbol).address, erc20).functions.transfer(holder, raw), sender=funder)

    vault_abi = vyper_artifact(snekmate_vault_source())
    for key, tokens in VAULT_DEPOSITS.items():
        vault = book.vaults[key]
        asset = tx.contract(book.token(vault.asset).address, erc20)
        raw = to_raw(tokens, market.token(vault.asset).decimals)
        tx.send(asset.functions.approve(vault.address, raw), sender=funder)
        tx.send(tx.contract(vault.address, vault_abi).functions.deposit(raw, holder), sender=funder)

    pool = tx.contract(book.aave.pool, aave_artifact("protocol/pool/Pool.sol/Pool.json"))
    for symbol, tokens in AAVE_SUPPLIES.items():
        token = book.token(symbol).address
        raw = to_raw(tokens, market.token(symbol).decimals)
        tx.send(tx.contract(token, erc20).functions.approve(pool.address, raw), sender=funder)
        tx.send(pool.functions.supply(token, raw, holder, 0), sender=funder)

