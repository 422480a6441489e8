"""The relay clients (public, Protect, MEV Blocker, Flashbots bundles) against the local relay on anvil."""

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

from keeper.chain.rpc import RpcClient, tx_hash_of
from keeper.devnet.relay import LocalRelay, decode_raw_tx
from keeper.errors import ConfigError
from keeper.relays.base import Relay, RelayStatus
from keeper.relays.flashbots import (
    HEADER,
    BundleRelay,
    FlashbotsAuth,
    bundle_hash,
    recover_header_signer,
)
from keeper.relays.private import FlashbotsProtect, MevBlocker, parse_status
from keeper.relays.public import PublicMempool

GWEI = 10**9


def transfer(
    account,
    nonce,
    *,
    tip=GWEI,
    max_fee=100 * GWEI,
    to="0x" + "11" * 20,
    value=1,
    data="0x",
    gas=21_000,
):
    return bytes(
        account.sign_transaction(
            {
                "type": 2,
                "chainId": 31337,
                "nonce": nonce,
                "to": to,
                "value": value,
                "data": data,
                "gas": gas,
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": tip,
            }
        ).raw_transaction
    )


@pytest.fixture
def relay(devnet):
    with LocalRelay(devnet.url, block_range=3) as r:
        yield r


def nonce_of(devnet, account):
    return int(devnet.rpc("eth_getTransactionCount", account.address, "latest"), 16)


def block_of(devnet, raw):
    receipt = devnet.rpc("eth_getTransactionReceipt", tx_hash_of(raw))
    return int(receipt["blockNumber"], 16) if receipt else None


# authentication -------------------------------------------------------------------------------


def test_auth_header__any_body__signed_as_the_flashbots_docs_say(reputation, shared_data):
    body = '{"jsonrpc":"2.0","method":"eth_sendBundle","params":[],"id":1}'
    auth = FlashbotsAuth(
        type(
            "S",
            (),
            {
                "address": reputation.address,
                "sign_text": lambda self, t: "0x"
                + bytes(reputation.sign_message(encode_defunct(text=t)).signature).hex(),
            },
        )()
    )
    address, signature = auth.header(body).split(":")
    spec = json.loads((shared_data / "api-samples" / "flashbots-auth-header.json").read_text())
    assert spec["header_format"].startswith(HEADER)
    # independent check, per the sample: personal_sign of the 0x-hex text of keccak256(body)
    message = encode_defunct(text="0x" + keccak(text=body).hex())
    assert Account.recover_message(message, signature=signature) == address == reputation.address


def test_recover_header__tampered_body__other_signer():
    auth = FlashbotsAuth.ephemeral()
    header = auth.header('{"a":1}')
    claimed, recovered = recover_header_signer(b'{"a":2}', header)
    assert claimed == auth.address != recovered


# bundles --------------------------------------------------------------------------------------


def test_bundle__sent_for_next_block__included_exactly_there(
    devnet, relay, keeper, reputation, monkeypatch
):
    monkeypatch.setenv("KEEPER_FLASHBOTS_KEY", "0x" + bytes(reputation.key).hex())
    client = BundleRelay(FlashbotsAuth.from_env(), url=relay.url)
    assert isinstance(client, Relay)
    raw = transfer(keeper, nonce_of(devnet, keeper))
    current = devnet.block_number()
    assert client.send(raw, current_block=current, deadline_block=current + 5) == tx_hash_of(raw)
    assert relay.bundles[0].bundle_hash == bundle_hash([raw])
    relay.mine_block()
    assert block_of(devnet, raw) == current + 1
    assert relay.log.signers == [reputation.address]


def test_bundle__two_txs_in_order__same_block(devnet, relay, keeper):
    client = BundleRelay(FlashbotsAuth.ephemeral(), url=relay.url)
    n = nonce_of(devnet, keeper)
    raws = [transfer(keeper, n), transfer(keeper, n + 1)]
    target = devnet.block_number() + 1
    client.send_bundle(raws, target)
    relay.mine_block()
    block = devnet.rpc("eth_getBlockByNumber", hex(target), False)
    assert block["transactions"] == [tx_hash_of(r) for r in raws]


def test_bundle__reverting_tx__left_out_whole(devnet, relay, keeper):
    devnet.rpc("anvil_setCode", "0x" + "22" * 20, "0x60006000fd")
    client = BundleRelay(FlashbotsAuth.ephemeral(), url=relay.url)
    n = nonce_of(devnet, keeper)
    raws = [transfer(keeper, n), transfer(keeper, n + 1, to="0x" + "22" * 20, gas=60_000)]
    client.send_bundle(raws, devnet.block_number() + 1)
    relay.mine_block()
    assert [block_of(devnet, r) for r in raws] == [None, None]
    assert relay.bundles[0].status == "FAILED" and "reverts" in relay.bundles[0].reason


def test_bundle__wrong_signature__config_error_and_refused(devnet, relay, keeper):
    class Liar:
        address = "0x" + "42" * 20  # claims an address it cannot sign for
        _real = Account.create()

        def sign_text(self, text):
            return "0x" + bytes(self._real.sign_message(encode_defunct(text=text)).signature).hex()

    client = BundleRelay(FlashbotsAuth(Liar()), url=relay.url)
    with pytest.raises(ConfigError, match="reputation key"):
        client.send_bundle([transfer(keeper, 0)], devnet.block_number() + 1)
    assert relay.log.refused == ["signer mismatch"]


def test_bundle__missed_block__retargeted_until_included(devnet, relay, keeper):
    client = BundleRelay(FlashbotsAuth.ephemeral(), url=relay.url)
    raw = transfer(keeper, nonce_of(devnet, keeper), max_fee=30 * GWEI)
    current = devnet.block_number()
    client.send(raw, current_block=current, deadline_block=current + 4)
    devnet.rpc("anvil_setNextBlockBaseFeePerGas", hex(80 * GWEI))  # the target block is too dear
    missed = relay.mine_block()
    assert block_of(devnet, raw) is None
    devnet.rpc("anvil_setNextBlockBaseFeePerGas", hex(GWEI))
    client.on_block(missed, [raw], deadline_block=current + 4)
    relay.mine_block()
    assert block_of(devnet, raw) == missed + 1
    assert [b.block for b in relay.bundles] == [current + 1, current + 2]


def test_bundle__past_deadline__not_retargeted(devnet, relay, keeper):
    client = BundleRelay(FlashbotsAuth.ephemeral(), url=relay.url)
    raw = transfer(keeper, nonce_of(devnet, keeper))
    current = devnet.block_number()
    client.on_block(current, [raw], deadline_block=current)
    assert relay.bundles == []


def test_call_bundle__reverting_second_tx__reported(devnet, relay, keeper):
    devnet.rpc("anvil_setCode", "0x" + "22" * 20, "0x60006000fd")
    client = BundleRelay(FlashbotsAuth.ephemeral(), url=relay.url)
    n = nonce_of(devnet, keeper)
    sim = client.call_bundle(
        [transfer(keeper, n), transfer(keeper, n + 1, to="0x" + "22" * 20, gas=60_000)],
        devnet.block_number() + 1,
    )
    assert not sim.ok
    assert sim.results[0].error is None and sim.results[0].gas_used == 21_000
    assert sim.results[1].error == "execution reverted"


# private RPCs ---------------------------------------------------------------------------------


def test_protect__private_tx__hidden_until_mined_then_included(devnet, relay, keeper):
    client = FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url)
    raw = transfer(keeper, nonce_of(devnet, keeper))
    tx_hash = client.send(raw, current_block=devnet.block_number(), deadline_block=0)
    assert client.status(tx_hash) is RelayStatus.PENDING
    assert devnet.rpc("eth_getTransactionByHash", tx_hash) is None  # not in the public mempool
    relay.mine_block()
    assert client.status(tx_hash) is RelayStatus.INCLUDED
    assert block_of(devnet, raw) is not None


def test_protect__reverting_tx__never_lands_then_fails(devnet, relay, keeper):
    devnet.rpc("anvil_setCode", "0x" + "22" * 20, "0x60006000fd")
    client = FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url)
    tx_hash = client.send(
        transfer(keeper, nonce_of(devnet, keeper), to="0x" + "22" * 20, gas=60_000),
        current_block=0,
        deadline_block=0,
    )
    relay.mine_block()
    detail = client.status_detail(tx_hash)
    assert (detail.status, detail.sim_error) == (RelayStatus.PENDING, "execution reverted")
    for _ in range(4):  # block_range=3
        relay.mine_block()
    assert client.status(tx_hash) is RelayStatus.FAILED


def test_protect__zero_tip__not_included(devnet, relay, keeper):
    client = FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url)
    tx_hash = client.send(
        transfer(keeper, nonce_of(devnet, keeper), tip=0), current_block=0, deadline_block=0
    )
    relay.mine_block()
    assert client.status_detail(tx_hash).sim_error.startswith("zero priority fee")


def test_protect__same_nonce_replacement__old_cancelled_new_included(devnet, relay, keeper):
    client = FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url)
    n = nonce_of(devnet, keeper)
    old = client.send(transfer(keeper, n, tip=GWEI), current_block=0, deadline_block=0)
    new = client.send(
        transfer(keeper, n, tip=2 * GWEI, max_fee=113 * GWEI), current_block=0, deadline_block=0
    )
    relay.mine_block()
    assert (client.status(old), client.status(new)) == (RelayStatus.CANCELLED, RelayStatus.INCLUDED)


def test_mev_blocker__fast_endpoint__included(devnet, relay, keeper):
    client = MevBlocker(base_url=relay.url, endpoint="noreverts")
    raw = transfer(keeper, nonce_of(devnet, keeper))
    tx_hash = client.send(raw, current_block=0, deadline_block=0)
    relay.mine_block()
    assert client.status(tx_hash) is RelayStatus.INCLUDED


def test_mev_blocker__unknown_endpoint__refused():
    with pytest.raises(ValueError, match="noreverts"):
        MevBlocker(endpoint="slow")


def test_status__protect_samples__parsed(shared_data):
    sample = json.loads((shared_data / "api-samples" / "flashbots-protect-rpc.json").read_text())
    pending = parse_status(sample["status_api_response_pending"])
    included = parse_status(sample["status_api_response_included"])
    assert (pending.status, pending.max_block_number) == (RelayStatus.PENDING, 13543898)
    assert included.status is RelayStatus.INCLUDED and included.raw["transaction"]["nonce"] == "41"
    assert parse_status({"status": "weird"}).status is RelayStatus.UNKNOWN


# public mempool -------------------------------------------------------------------------------


def test_public__automine_off__pending_then_included(devnet, relay, keeper, node):
    client = PublicMempool(node)
    raw = transfer(keeper, nonce_of(devnet, keeper))
    tx_hash = client.send(raw, current_block=0, deadline_block=0)
    assert client.status(tx_hash) is RelayStatus.PENDING
    relay.mine_block()
    assert client.status(tx_hash) is RelayStatus.INCLUDED


def test_relay_proxy__evm_mine__mines_through_relay(devnet, relay, keeper):
    client = FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url)
    tx_hash = client.send(
        transfer(keeper, nonce_of(devnet, keeper)), current_block=0, deadline_block=0
    )
    RpcClient(relay.rpc_url).call("evm_mine")
    assert client.status(tx_hash) is RelayStatus.INCLUDED


def test_decode_raw_tx__eip1559__fields_and_sender(keeper):
    raw = transfer(keeper, 7, tip=3, max_fee=9, value=5, data="0xabcd", gas=50_000)
    d = decode_raw_tx(raw)
    assert (d.sender, d.nonce, d.priority_fee, d.max_fee, d.value, d.data, d.gas) == (
        keeper.address,
        7,
        3,
        9,
        5,
        "0xabcd",
        50_000,
    )


def test_mev_blocker__docs_answer_with_63_digit_hash__local_hash_returned(shared_data, keeper, caplog):
    """The documented answer has a 63-digit hash (a docs typo): the client trusts the hash it
    computes from the signed bytes, and says so."""
    from keeper.devnet.httpserver import LocalServer, Response

    sample = json.loads((shared_data / "api-samples" / "mevblocker-rpc.json").read_text())
    with LocalServer(lambda request: Response(200, sample["response_eth_sendRawTransaction"])) as server:
        client = MevBlocker(base_url=server.url, endpoint="fast")
        raw = transfer(keeper, 0)
        assert client.send(raw, current_block=0, deadline_block=0) == tx_hash_of(raw)
    assert "returned hash 0xe670ec64" in caplog.text
