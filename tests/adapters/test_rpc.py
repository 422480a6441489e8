"""The JSON-RPC client against anvil, directly and through the faulty proxy."""

import logging

import pytest

from keeper.chain.rpc import RpcClient, RpcError, SendOutcomeUnknown, tx_hash_of
from keeper.devnet.faulty_proxy import FaultyProxy
from keeper.errors import ExecutionReverted, TemporaryError
from keeper.http import RetryPolicy
from tests.adapters.chainutil import wait_receipt

FAST = RetryPolicy(attempts=6, base_delay_s=0.0, max_delay_s=0.0)


def signed_transfer(account, nonce, *, max_fee=10**10, tip=10**9, chain_id=31337):
    return account.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "to": "0x" + "11" * 20,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
        }
    )


def test_reads__thirty_percent_faults__all_succeed_with_warnings(devnet, caplog):
    with FaultyProxy(devnet.url, rate=0.3, seed=7, hang_s=0.3) as proxy:
        rpc = RpcClient(proxy.url, timeout_s=0.2, retry=FAST, name="proxied node")
        with caplog.at_level(logging.WARNING):
            numbers = [rpc.block_number() for _ in range(40)]
    assert numbers == [devnet.block_number()] * 40
    assert len(proxy.faults()) >= 5  # the faults really happened
    assert "retry 1/5" in caplog.text


def test_read__node_always_failing__temporary_error_one_line(devnet):
    with FaultyProxy(devnet.url, rate=1.0, kinds=["503"]) as proxy:
        rpc = RpcClient(proxy.url, retry=RetryPolicy(attempts=3, base_delay_s=0, max_delay_s=0))
        with pytest.raises(TemporaryError) as info:
            rpc.block_number()
    assert "HTTP 503 after 3 attempts" in info.value.one_line()
    assert len(proxy.events) == 3


def test_send__answer_lost_after_forward__unknown_outcome_not_retried(devnet, keeper):
    tx = signed_transfer(keeper, 0)
    with FaultyProxy(devnet.url, rate=1.0, kinds=["502_after"]) as proxy:
        rpc = RpcClient(proxy.url, retry=FAST)
        with pytest.raises(SendOutcomeUnknown) as info:
            rpc.send_raw_transaction(tx.raw_transaction)
    assert info.value.tx_hash == "0x" + tx.hash.hex()
    assert len(proxy.events) == 1  # tried once, never blindly again
    # The node did get it: only a lookup by hash tells the keeper so.
    assert devnet.rpc("eth_getTransactionReceipt", info.value.tx_hash)["status"] == "0x1"


def test_send__refused_before_node__unknown_outcome_and_not_on_chain(devnet, keeper):
    tx = signed_transfer(keeper, 0)
    with FaultyProxy(devnet.url, rate=1.0, kinds=["429"]) as proxy:
        rpc = RpcClient(proxy.url, retry=FAST)
        with pytest.raises(SendOutcomeUnknown):
            rpc.send_raw_transaction(tx.raw_transaction)
    assert len(proxy.events) == 1
    assert devnet.rpc("eth_getTransactionByHash", tx_hash_of(tx.raw_transaction)) is None


def test_send__timeout__unknown_outcome(devnet, keeper):
    tx = signed_transfer(keeper, 0)
    with FaultyProxy(devnet.url, rate=1.0, kinds=["timeout_after"], hang_s=0.3) as proxy:
        rpc = RpcClient(proxy.url, timeout_s=0.1, retry=FAST)
        with pytest.raises(SendOutcomeUnknown, match="timed out"):
            rpc.send_raw_transaction(tx.raw_transaction)


def test_send__same_bytes_twice__already_known_is_success(devnet, keeper):
    devnet.rpc("evm_setAutomine", False)
    tx = signed_transfer(keeper, 0)
    rpc = RpcClient(devnet.url)
    first = rpc.send_raw_transaction(tx.raw_transaction)
    assert rpc.send_raw_transaction(tx.raw_transaction) == first


def test_send__stale_nonce__rpc_error_with_node_message(devnet, keeper):
    rpc = RpcClient(devnet.url)
    first = rpc.send_raw_transaction(signed_transfer(keeper, 0).raw_transaction)
    assert wait_receipt(rpc, first)  # mined: the same nonce is now too low, not a replacement
    with pytest.raises(RpcError) as info:
        rpc.send_raw_transaction(signed_transfer(keeper, 0, tip=2 * 10**9).raw_transaction)
    assert "nonce too low" in info.value.rpc_message
    assert isinstance(info.value, ExecutionReverted)


def test_eth_call__revert__rpc_error_with_data(devnet):
    # runtime code: REVERT(0, 0) after storing nothing -> empty revert data
    devnet.rpc("anvil_setCode", "0x" + "22" * 20, "0x60006000fd")
    with pytest.raises(RpcError, match="revert"):
        RpcClient(devnet.url).eth_call({"to": "0x" + "22" * 20, "data": "0x"})


def test_web3_provider__faulty_proxy__reads_retried_sends_not(devnet, keeper):
    from web3 import Web3

    from keeper.chain.web3_provider import KeeperProvider

    with FaultyProxy(devnet.url, rate=0.3, seed=3, kinds=["429", "503", "reset"]) as proxy:
        w3 = Web3(KeeperProvider(RpcClient(proxy.url, retry=FAST)))
        assert [w3.eth.chain_id for _ in range(20)] == [31337] * 20
        assert proxy.faults()
    with FaultyProxy(devnet.url, rate=1.0, kinds=["502_after"]) as proxy:
        w3 = Web3(KeeperProvider(RpcClient(proxy.url, retry=FAST)))
        with pytest.raises(SendOutcomeUnknown):
            w3.eth.send_raw_transaction(signed_transfer(keeper, 0).raw_transaction)
        assert len(proxy.events) == 1


def test_web3_provider__revert__contract_logic_error(devnet):
    from web3 import Web3
    from web3.exceptions import ContractLogicError

    from keeper.chain.web3_provider import KeeperProvider

    devnet.rpc("anvil_setCode", "0x" + "22" * 20, "0x60006000fd")
    w3 = Web3(KeeperProvider(RpcClient(devnet.url)))
    with pytest.raises(ContractLogicError):
        w3.eth.call({"to": "0x" + "22" * 20, "data": "0x"})
