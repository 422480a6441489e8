"""The devnet carries real protocols: each is used here the way the keeper will use it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from keeper.chain.multicall import Call, aggregate
from keeper.chain.reader import ChainReader
from keeper.devnet import market
from keeper.devnet.artifacts import vyper_artifact
from keeper.devnet.demo_treasury import VAULT_DEPOSITS, WALLET
from keeper.devnet.recipe import FAR_DEADLINE, aave_artifact, artifact, snekmate_vault_source
from keeper.money import to_raw
from keeper.venues.base import read_snapshot

MAX_UINT = 2**256 - 1


def v3_path(book, *hops) -> bytes:
    """Uniswap V3 path: token (20 bytes), fee (3 bytes), token, ..."""
    path = bytes.fromhex(book.token(hops[0]).address[2:])
    for fee, symbol in zip(hops[1::2], hops[2::2], strict=True):
        path += fee.to_bytes(3, "big") + bytes.fromhex(book.token(symbol).address[2:])
    return path


def erc20(devnet, symbol):
    return devnet.txs.contract(devnet.book.token(symbol).address, artifact("erc20"))


def fund(devnet, symbol, to, tokens: str) -> int:
    raw = to_raw(tokens, market.token(symbol).decimals)
    devnet.txs.send(erc20(devnet, symbol).functions.transfer(to, raw), sender=devnet.book.accounts["lp"])
    return raw


@pytest.fixture
def router(devnet):
    return devnet.txs.contract(devnet.book.uniswap_v3["swap_router02"], artifact("swap_router02"))


@pytest.fixture
def quoter(devnet):
    return devnet.txs.contract(devnet.book.uniswap_v3["quoter_v2"], artifact("quoter_v2"))


def test_v3_single_hop__swap_output__equals_quoterv2_quote(devnet, book, router, quoter, stranger):
    amount_in = fund(devnet, "WETH", stranger, "10")
    weth, usdc = book.token("WETH").address, book.token("USDC").address
    quoted = quoter.functions.quoteExactInputSingle((weth, usdc, amount_in, 500, 0)).call()[0]
    devnet.txs.send(erc20(devnet, "WETH").functions.approve(router.address, amount_in), sender=stranger)
    devnet.txs.send(router.functions.exactInputSingle((weth, usdc, 500, stranger, amount_in, quoted, 0)), sender=stranger)

    received = erc20(devnet, "USDC").functions.balanceOf(stranger).call()
    assert received == quoted
    # $30,000 of ETH moves the price by well under 1% (0.05% fee included).
    assert Decimal(received) / Decimal(10**6) > Decimal("30000") * Decimal("0.99")


def test_v3_multi_hop__sol_to_usdc_via_weth__equals_quote(devnet, book, router, quoter, stranger):
    amount_in = fund(devnet, "SOL", stranger, "100")
    path = v3_path(book, "SOL", 3000, "WETH", 500, "USDC")
    quoted = quoter.functions.quoteExactInput(path, amount_in).call()[0]
    devnet.txs.send(erc20(devnet, "SOL").functions.approve(router.address, amount_in), sender=stranger)
    devnet.txs.send(router.functions.exactInput((path, stranger, amount_in, quoted)), sender=stranger)

    received = erc20(devnet, "USDC").functions.balanceOf(stranger).call()
    assert received == quoted
    assert Decimal(received) / Decimal(10**6) > Decimal("15000") * Decimal("0.99")  # 2 hops, still < 1%


def test_v3__sol_usdc_pool__does_not_exist_so_routes_must_hop(devnet, book):
    factory = devnet.txs.contract(book.uniswap_v3["factory"], artifact("v3_factory"))
    for fee in (100, 500, 3000, 10000):
        pool = factory.functions.getPool(book.token("SOL").address, book.token("USDC").address, fee).call()
        assert int(pool, 16) == 0


def test_v2__swap_exact_tokens__pays_get_amounts_out(devnet, book, stranger):
    router = devnet.txs.contract(book.uniswap_v2["router"], artifact("v2_router"))
    amount_in = fund(devnet, "USDC", stranger, "5000")
    path = [book.token("USDC").address, book.token("WETH").address]
    expected = router.functions.getAmountsOut(amount_in, path).call()[-1]
    devnet.txs.send(erc20(devnet, "USDC").functions.approve(router.address, amount_in), sender=stranger)
    devnet.txs.send(router.functions.swapExactTokensForTokens(amount_in, expected, path, stranger, FAR_DEADLINE), sender=stranger)
    assert erc20(devnet, "WETH").functions.balanceOf(stranger).call() == expected


def test_erc4626__deposit_donation_redeem__earns_the_yield(devnet, book, stranger):
    vault = devnet.txs.contract(book.vaults["vault_usdc_a"].address, vyper_artifact(snekmate_vault_source()))
    usdc = erc20(devnet, "USDC")
    deposit = fund(devnet, "USDC", stranger, "10000")
    devnet.txs.send(usdc.functions.approve(vault.address, deposit), sender=stranger)
    devnet.txs.send(vault.functions.deposit(deposit, stranger), sender=stranger)
    shares = vault.functions.balanceOf(stranger).call()
    assert vault.functions.convertToAssets(shares).call() == pytest.approx(deposit, abs=1)

    total = vault.functions.totalAssets().call()
    devnet.txs.send(usdc.functions.transfer(vault.address, total // 100), sender=book.accounts["lp"])  # +1% yield

    devnet.txs.send(vault.functions.redeem(shares, stranger, stranger), sender=stranger)
    redeemed = usdc.functions.balanceOf(stranger).call()
    assert redeemed >= deposit * 101 // 100 - 2


def test_erc4626__advance_time__vaults_earn_their_configured_apys(devnet, book):
    vault_abi = vyper_artifact(snekmate_vault_source())
    unit = 10**24  # shares, with room for precision

    def price(key):
        return devnet.txs.contract(book.vaults[key].address, vault_abi).functions.convertToAssets(unit).call()

    before = {key: price(key) for key in book.vaults}
    devnet.advance_time(30 * 24 * 3600)
    for key, spec in ((s.key, s) for s in market.VAULTS):
        growth = Decimal(price(key)) / Decimal(before[key]) - 1
        assert growth == pytest.approx(spec.apy * 30 / 365, rel=Decimal("0.01"))
    assert price("vault_usdc_b") / before["vault_usdc_b"] > price("vault_usdc_a") / before["vault_usdc_a"]


def test_aave__supply_accrue_withdraw__interest_is_real(devnet, book, stranger):
    pool = devnet.txs.contract(book.aave.pool, aave_artifact("protocol/pool/Pool.sol/Pool.json"))
    usdc = erc20(devnet, "USDC")
    a_usdc = devnet.txs.contract(book.aave.a_tokens["USDC"], artifact("erc20"))
    amount = fund(devnet, "USDC", stranger, "100000")
    devnet.txs.send(usdc.functions.approve(pool.address, amount), sender=stranger)
    devnet.txs.send(pool.functions.supply(usdc.address, amount, stranger, 0), sender=stranger)

    liquidity_rate = pool.functions.getReserveData(usdc.address).call()[2]
    assert liquidity_rate > 0  # someone borrows, so suppliers earn

    devnet.rpc("evm_increaseTime", hex(365 * 24 * 3600))
    devnet.mine()
    balance = a_usdc.functions.balanceOf(stranger).call()
    apr = Decimal(liquidity_rate) / Decimal(10**27)
    assert Decimal(balance) / Decimal(amount) - 1 == pytest.approx(apr, rel=Decimal("0.02"))

    devnet.txs.send(pool.functions.withdraw(usdc.address, MAX_UINT, stranger), sender=stranger)
    withdrawn = usdc.functions.balanceOf(stranger).call()
    assert balance <= withdrawn <= balance * 1_000_001 // 1_000_000  # interest of the seconds between
    assert a_usdc.functions.balanceOf(stranger).call() == 0


def test_feed_update__moves_the_aave_oracle_price(devnet, book):
    oracle = devnet.txs.contract(book.aave.oracle, aave_artifact("misc/AaveOracle.sol/AaveOracle.json"))
    weth = book.token("WETH").address
    assert oracle.functions.getAssetPrice(weth).call() == 3000 * 10**8
    devnet.set_price("WETH", Decimal("2750.5"))
    assert oracle.functions.getAssetPrice(weth).call() == 275050000000


def test_chain_reader__demo_treasury__one_eth_call_per_snapshot(devnet, demo_config):
    sent = []

    def eth_call(tx, block):
        sent.append(tx)
        return devnet.w3.eth.call(tx, block)

    reader = ChainReader("devnet", demo_config, eth_call=eth_call)
    reader.read(demo_config.spec, 0)  # the first read also caches decimals and vault assets
    sent.clear()
    snapshot, readings = read_snapshot([reader], demo_config.spec, 0)
    assert len(sent) == 1 and readings[0].round_trips == 1
    assert len(snapshot.positions) == 11
    by_holding = {p.holding: p for p in snapshot.positions}
    for symbol, tokens in WALLET.items():
        position = by_holding[f"devnet:{symbol}"]
        assert position.tokens == tokens
        assert position.price_usd == market.token(symbol).price_usd
    assert by_holding["devnet:vault_usdc_a"].tokens == pytest.approx(VAULT_DEPOSITS["vault_usdc_a"], abs=Decimal("0.000002"))
    assert by_holding["devnet:vault_usdc_a"].shares_raw > 0
    assert snapshot.block("devnet") == devnet.w3.eth.block_number


def test_multicall3__a_failing_call__fails_alone(devnet, book):
    calls = [
        Call(book.token("USDC").address, "decimals()", (), ("uint8",)),
        Call(book.accounts["stranger"], "decimals()", (), ("uint8",)),  # no code: undecodable
        Call(book.token("WBTC").address, "decimals()", (), ("uint8",)),
    ]
    results = aggregate(lambda tx, block: devnet.w3.eth.call(tx, block), calls)
    assert [r.success for r in results] == [True, False, True]
    assert results[0].value == (6,) and results[2].value == (8,)


def test_chain_reader__stale_or_negative_feed__unpriced_with_reason(devnet, book, demo_config):
    devnet.set_price("UNI", Decimal("-1"))
    devnet.rpc("evm_increaseTime", hex(7200))
    devnet.mine()
    feed = devnet.txs.contract(book.token("SOL").feed, artifact("feed"))
    devnet.txs.send(feed.functions.updateAnswer(feed.functions.latestAnswer().call()))  # SOL fresh again

    reader = ChainReader("devnet", demo_config, eth_call=lambda tx, block: devnet.w3.eth.call(tx, block))
    by_asset = {p.asset: p for p in reader.read(demo_config.spec, 0).positions if p.kind.value == "erc20"}
    assert by_asset["UNI"].price_usd is None and "non-positive" in by_asset["UNI"].unpriced_reason
    assert by_asset["ETH"].price_usd is None and "stale" in by_asset["ETH"].unpriced_reason
    assert by_asset["SOL"].price_usd == Decimal(150)
