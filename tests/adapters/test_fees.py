"""Fee reads against anvil: feeHistory, the ETH/USD feed, and the L2 oracles via stand-ins placed at
their predeploy addresses (checked against an independent computation of the documented formulas)."""

import json
from decimal import Decimal

import pytest
from eth_abi import encode
from eth_utils import keccak

from keeper.chain import fees
from keeper.errors import TemporaryError
from keeper.signals.gas import arbitrum_split, suggest_fees
from tests.adapters.chainutil import deploy, place_standin, wait_receipt

GWEI = 10**9


def transfer(account, nonce, tip):
    return account.sign_transaction(
        {
            "type": 2,
            "chainId": 31337,
            "nonce": nonce,
            "to": "0x" + "11" * 20,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 100 * GWEI,
            "maxPriorityFeePerGas": tip,
        }
    ).raw_transaction


def test_fee_history__blocks_with_tips__parsed_and_suggested(devnet, keeper, node):
    rpc = node
    start = rpc.get_transaction_count(keeper.address)
    for i, tip in enumerate((1, 2, 3)):
        tx_hash = rpc.send_raw_transaction(transfer(keeper, start + i, tip * GWEI))
        assert wait_receipt(rpc, tx_hash)  # automine seals one block each, a moment after the hash
    h = fees.read_fee_history(rpc, blocks=3, percentiles=(50,))
    assert len(h.base_fees_wei) == 4
    assert [row[0] for row in h.rewards_wei] == [GWEI, 2 * GWEI, 3 * GWEI]
    assert (
        h.next_base_fee_wei == int(rpc.get_block("latest")["baseFeePerGas"], 16)
        or h.next_base_fee_wei > 0
    )
    assert suggest_fees(h).priority_fee_wei == 2 * GWEI


def test_fee_history__spiked_base_fee__seen_in_next_block(devnet, node):
    devnet.rpc("anvil_setNextBlockBaseFeePerGas", hex(200 * GWEI))
    devnet.mine()
    h = fees.read_fee_history(node, blocks=2)
    assert h.base_fees_wei[-2] == 200 * GWEI  # the mined block
    assert h.next_base_fee_wei == 175 * GWEI  # an empty block: -12.5%


@pytest.fixture
def eth_usd_feed(devnet, keeper, node):
    from keeper.devnet.artifacts import npm_artifact

    art = npm_artifact("@chainlink/contracts/abi/v0.7/MockV3Aggregator.json")
    return deploy(node, keeper, art.abi, art.bytecode, 8, 3_123_45000000)


def test_eth_usd__fresh_feed__decimal_price(devnet, eth_usd_feed, node):
    answer = fees.read_eth_usd(node, eth_usd_feed)
    assert answer.price == Decimal("3123.45")


def test_eth_usd__stale_feed__temporary_error_says_age(devnet, eth_usd_feed, node):
    devnet.rpc("evm_increaseTime", 2 * 3600)
    devnet.mine()
    with pytest.raises(TemporaryError, match="older than 4200 s"):
        fees.read_eth_usd(node, eth_usd_feed)


def test_eth_usd__zero_answer__refused(devnet, keeper, eth_usd_feed, node):
    rpc = node
    data = keccak(text="updateAnswer(int256)")[:4] + encode(["int256"], [0])
    signed = keeper.sign_transaction(
        {
            "type": 2,
            "chainId": 31337,
            "nonce": rpc.get_transaction_count(keeper.address),
            "to": eth_usd_feed,
            "value": 0,
            "data": data,
            "gas": 200_000,
            "maxFeePerGas": 100 * GWEI,
            "maxPriorityFeePerGas": GWEI,
        }
    )
    rpc.send_raw_transaction(signed.raw_transaction)
    with pytest.raises(TemporaryError, match="not a price"):
        fees.read_eth_usd(rpc, eth_usd_feed)


def ecotone_fee(tx: bytes, l1_base_fee, blob_base_fee, scalar, blob_scalar):
    """Independent Python of the Ecotone formula (CHAIN_FACTS.md section 3)."""
    calldata_gas = sum(4 if b == 0 else 16 for b in tx) + 68 * 16
    return calldata_gas * (scalar * 16 * l1_base_fee + blob_scalar * blob_base_fee) // (16 * 10**6)


def test_opstack_l1_fee__oracle_at_predeploy__matches_formula(devnet, keeper, node):
    params = (20 * GWEI, 3 * GWEI, 1_368, 810_949)  # Base mainnet's scalars
    place_standin(
        devnet, node, keeper, "GasPriceOracleEcotone", fees.OPSTACK_GAS_PRICE_ORACLE, *params
    )
    tx = fees.unsigned_eip1559_tx(
        {
            "chainId": 8453,
            "nonce": 7,
            "maxPriorityFeePerGas": 10**6,
            "maxFeePerGas": 10**8,
            "gas": 400_000,
            "to": "0x" + "ab" * 20,
            "value": 0,
            "data": "0x" + "00" * 40 + "ff" * 200,
        }
    )
    got = fees.opstack_l1_fee(node, tx)
    assert got == ecotone_fee(tx, *params)
    assert got > 0


def test_unsigned_tx__same_fields__matches_eth_account_signing_payload(keeper):
    """Our unsigned encoding is what eth-account signs: its hash is the signing hash."""
    from eth_account.typed_transactions import TypedTransaction

    fields = {
        "chainId": 10,
        "nonce": 3,
        "maxPriorityFeePerGas": 5,
        "maxFeePerGas": 9,
        "gas": 60_000,
        "to": "0xCdCDCdCdcdcdcdCdcDcDCdcDcDCdCdcdCdcDCDcD",
        "value": 12,
        "data": "0x1234",
        "accessList": [],
    }
    ours = fees.unsigned_eip1559_tx(fields)
    theirs = TypedTransaction.from_dict({**fields, "type": 2})
    assert keccak(ours) == theirs.hash()


def test_unsigned_tx__missing_field__names_it():
    with pytest.raises(ValueError, match="missing field gas"):
        fees.unsigned_eip1559_tx(
            {"chainId": 1, "nonce": 0, "maxPriorityFeePerGas": 1, "maxFeePerGas": 1}
        )


def test_arbitrum_components__node_interface_standin__matches_formula(devnet, keeper, node):
    base_fee, l1_estimate, execution = 10**7, 30 * GWEI, 150_000
    place_standin(
        devnet,
        node,
        keeper,
        "NodeInterfaceStandin",
        fees.ARBITRUM_NODE_INTERFACE,
        base_fee,
        l1_estimate,
        execution,
    )
    data = bytes(10) + bytes([7]) * 90
    got = fees.arbitrum_gas_components(node, sender=keeper.address, to="0x" + "ab" * 20, data=data)
    gas_for_l1 = l1_estimate * 16 * (len(data) + 140) // base_fee
    intrinsic = 21_000 + 10 * 4 + 90 * 16
    assert (got.gas_estimate, got.gas_estimate_for_l1) == (
        intrinsic + execution + gas_for_l1,
        gas_for_l1,
    )
    assert (got.base_fee_wei, got.l1_base_fee_estimate_wei) == (base_fee, l1_estimate)
    l2_gas, l1_fee = arbitrum_split(got.gas_estimate, got.gas_estimate_for_l1, got.base_fee_wei)
    assert l2_gas == got.l2_gas == intrinsic + execution
    assert l1_fee == gas_for_l1 * base_fee


def test_opstack_l1_fee__plain_chain__config_error(devnet, node):
    from keeper.errors import ConfigError

    with pytest.raises(ConfigError, match="OP-stack"):
        fees.opstack_l1_fee(node, b"\x02")


def test_selectors__shared_abi_facts__match(shared_data):
    facts = json.loads((shared_data / "chain" / "abis" / "SELECTORS.json").read_text())
    listed = {
        line.split()[0]
        for group in facts.values()
        if isinstance(group, list)
        for line in group
        if isinstance(line, str) and line.startswith("0x")
    }
    for selector in (
        fees.SELECTOR_GET_L1_FEE,
        fees.SELECTOR_GAS_ESTIMATE_COMPONENTS,
        fees.SELECTOR_LATEST_ROUND_DATA,
        fees.SELECTOR_DECIMALS,
    ):
        assert "0x" + selector.hex() in listed
