"""Submission on anvil through the local relay: gas spikes defer, stuck transactions are replaced,
bundles retarget, nonces reconcile, and RPC faults never cause a blind re-send or a double effect."""

import logging
from decimal import Decimal

import pytest

from keeper.chain.fees import read_fee_history
from keeper.chain.rpc import RpcClient, tx_hash_of
from keeper.devnet.faulty_proxy import FaultyProxy
from keeper.devnet.relay import LocalRelay
from keeper.errors import ExecutionReverted, ReconcileError
from keeper.execution.submit import NonceManager, SubmitPolicy, Submitter, TxRequest
from keeper.http import RetryPolicy
from keeper.relays.flashbots import BundleRelay, FlashbotsAuth
from keeper.relays.private import FlashbotsProtect
from keeper.relays.public import PublicMempool
from keeper.signals.gas import GasCaps, GasVerdict, decide, suggest_fees

GWEI = 10**9
RECIPIENT = "0x" + "5e" * 20


class RelayClock:
    """Mines the next block through the relay, first setting its base fee from a script (wei;
    None = leave the chain alone). Deterministic: no sleeping, no threads."""

    def __init__(self, devnet, relay, base_fees=()):
        self.devnet, self.relay, self.script = devnet, relay, list(base_fees)
        self.mined = []

    def wait_for_block(self, after):
        if self.script:
            fee = self.script.pop(0)
            if fee is not None:
                self.devnet.rpc("anvil_setNextBlockBaseFeePerGas", hex(fee))
        self.mined.append(self.relay.mine_block())
        return self.mined[-1]


@pytest.fixture
def relay(devnet):
    with LocalRelay(devnet.url, block_range=25) as r:
        yield r


def pay(value=1, to=RECIPIENT, gas=21_000, data="0x"):
    return TxRequest(chain_id=31337, to=to, data=data, gas_limit=gas, value_wei=value)


def test_submit__protect_calm_chain__included_first_try(devnet, relay, node, keeper_signer):
    submitter = Submitter(
        node,
        FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url),
        keeper_signer,
        clock=RelayClock(devnet, relay),
    )
    result = submitter.submit(
        pay(), max_fee_wei=10 * GWEI, priority_fee_wei=GWEI, cap_wei=50 * GWEI
    )
    assert result.replacements == 0
    assert node.get_receipt(result.tx_hash)["status"] == "0x1"


def test_submit__stuck_private_tx__replaced_with_both_fees_up_until_included(
    devnet, relay, node, keeper_signer
):
    before = node.get_transaction_count(keeper_signer.address)
    # the base fee sits at 4 gwei: a 3 gwei max fee is stuck until bumped past it
    clock = RelayClock(devnet, relay, base_fees=[4 * GWEI] * 10)
    relay_client = FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url)
    submitter = Submitter(
        node,
        relay_client,
        keeper_signer,
        clock=clock,
        policy=SubmitPolicy(replace_after_blocks=1, deadline_blocks=10),
    )
    result = submitter.submit(pay(), max_fee_wei=3 * GWEI, priority_fee_wei=GWEI, cap_wei=50 * GWEI)
    assert result.replacements >= 2
    fees = [
        (relay.private[h].tx.max_fee, relay.private[h].tx.priority_fee) for h in result.attempts
    ]
    for (old_max, old_tip), (new_max, new_tip) in zip(fees, fees[1:], strict=False):
        assert new_max * 8 >= old_max * 9 and new_tip * 8 >= old_tip * 9  # both fields, >= 12.5%
    assert fees[-1][0] >= 4 * GWEI > fees[-2][0]
    assert [node.get_receipt(h) is None for h in result.attempts] == [
        True
    ] * result.replacements + [False]
    assert node.get_transaction_count(keeper_signer.address) == before + 1  # one execution


def test_submit__dropped_public_tx__replaced_and_included(devnet, relay, node, keeper_signer):
    # anvil drops a pending transaction whose max fee falls under the base fee: the public case
    clock = RelayClock(devnet, relay, base_fees=[6 * GWEI, 6 * GWEI, None, None])
    submitter = Submitter(
        node,
        PublicMempool(node),
        keeper_signer,
        clock=clock,
        policy=SubmitPolicy(replace_after_blocks=1, deadline_blocks=10),
    )
    result = submitter.submit(pay(), max_fee_wei=5 * GWEI, priority_fee_wei=GWEI, cap_wei=50 * GWEI)
    assert result.replacements >= 1
    assert node.get_receipt(result.attempts[0]) is None


def test_submit__fees_at_cap__waits_then_reconcile_error_at_deadline(
    devnet, relay, node, keeper_signer
):
    clock = RelayClock(devnet, relay, base_fees=[80 * GWEI] * 6)
    submitter = Submitter(
        node,
        FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url),
        keeper_signer,
        clock=clock,
        policy=SubmitPolicy(replace_after_blocks=1, deadline_blocks=4),
    )
    with pytest.raises(ReconcileError, match="not included by block") as info:
        submitter.submit(pay(), max_fee_wei=40 * GWEI, priority_fee_wei=GWEI, cap_wei=50 * GWEI)
    signed = list(relay.private)
    # 40 -> 45 gwei is one bump; 45 -> 50.625 would break the 50 gwei cap, so it waits instead
    assert [relay.private[h].tx.max_fee for h in signed] == [40 * GWEI, 45 * GWEI]
    assert signed[0] in str(info.value)


def test_submit__bundle_mode__retargeted_each_block_until_included(
    devnet, relay, node, keeper_signer
):
    clock = RelayClock(devnet, relay, base_fees=[40 * GWEI, None, None])
    bundles = BundleRelay(FlashbotsAuth.ephemeral(), url=relay.url)
    submitter = Submitter(
        node,
        bundles,
        keeper_signer,
        clock=clock,
        policy=SubmitPolicy(replace_after_blocks=5, deadline_blocks=6),
    )
    result = submitter.submit(
        pay(), max_fee_wei=30 * GWEI, priority_fee_wei=GWEI, cap_wei=50 * GWEI
    )
    assert result.replacements == 0
    targets = [b.block for b in relay.bundles]
    assert targets == sorted(set(targets)) and len(targets) >= 2  # one bundle per block, retargeted
    assert result.block_number == targets[-1]


def test_submit__reverting_call__execution_reverted_with_hash(devnet, relay, node, keeper_signer):
    devnet.rpc("anvil_setCode", "0x" + "22" * 20, "0x60006000fd")
    submitter = Submitter(node, PublicMempool(node), keeper_signer, clock=RelayClock(devnet, relay))
    with pytest.raises(ExecutionReverted) as info:
        submitter.submit(
            pay(value=0, to="0x" + "22" * 20, gas=60_000),
            max_fee_wei=10 * GWEI,
            priority_fee_wei=GWEI,
            cap_wei=50 * GWEI,
        )
    assert node.get_receipt(info.value.tx_hash)["status"] == "0x0"


def test_submit__nonce_taken_by_another_tx__reconcile_error(
    devnet, relay, node, keeper_signer, keeper
):
    submitter = Submitter(
        node,
        FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url),
        keeper_signer,
        clock=RelayClock(devnet, relay),
    )
    submitter.nonces.reconcile()
    nonce = node.get_transaction_count(keeper.address)
    # the same key, used elsewhere, fills the nonce first (straight into the public mempool)
    node.send_raw_transaction(
        keeper.sign_transaction(
            {
                "type": 2,
                "chainId": 31337,
                "nonce": nonce,
                "to": "0x" + "77" * 20,
                "value": 5,
                "gas": 21_000,
                "maxFeePerGas": 50 * GWEI,
                "maxPriorityFeePerGas": 5 * GWEI,
            }
        ).raw_transaction
    )
    with pytest.raises(ReconcileError, match=f"nonce {nonce}"):
        submitter.submit(pay(), max_fee_wei=10 * GWEI, priority_fee_wei=GWEI, cap_wei=50 * GWEI)
    assert submitter.nonces.reserve() == nonce + 1  # reconciled with the chain


def test_nonce_manager__reserve_release_reconcile__tracks_chain(devnet, node, keeper):
    nonces = NonceManager(node, keeper.address)
    start = node.get_transaction_count(keeper.address)
    assert [nonces.reserve(), nonces.reserve()] == [start, start + 1]
    nonces.release(start + 1)
    assert nonces.reserve() == start + 1
    nonces.settle(start)
    nonces.settle(start + 1)
    assert nonces.reconcile() == start  # nothing was mined: back to the chain's count


def test_gas_spike__defers_while_spiked_then_acts_when_it_falls(
    devnet, relay, node, keeper_signer, caplog
):
    """The base fee is set before each block (it holds one block only): 3 spiked blocks, then calm."""
    caps, eth_usd, gas = GasCaps(), Decimal(3000), 21_000
    verdicts = []
    for next_base_fee in [150 * GWEI, 150 * GWEI, 150 * GWEI, 8 * GWEI, 7 * GWEI]:
        devnet.rpc("anvil_setNextBlockBaseFeePerGas", hex(next_base_fee))
        relay.mine_block()
        devnet.rpc(
            "anvil_setNextBlockBaseFeePerGas", hex(next_base_fee)
        )  # the block the keeper lands in
        history = read_fee_history(node, blocks=4)
        decision = decide(suggest_fees(history), caps, gas_units=gas, eth_usd=eth_usd)
        verdicts.append(decision.verdict)
        if decision.act:
            break
        assert "over the 50 gwei cap" in decision.reason
    assert verdicts[:3] == [GasVerdict.DEFER_GWEI_CAP] * 3 and verdicts[-1] is GasVerdict.ACT
    submitter = Submitter(
        node,
        FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url),
        keeper_signer,
        clock=RelayClock(devnet, relay),
    )
    result = submitter.submit(
        pay(),
        max_fee_wei=decision.max_fee_wei,
        priority_fee_wei=decision.priority_fee_wei,
        cap_wei=decision.ceiling_wei,
    )
    assert result.effective_gas_price_wei <= 50 * GWEI


def sends_checked_before_resend(events) -> bool:
    """No raw transaction is sent again before its hash was looked up after the previous send."""
    last_send: dict[str, int] = {}
    lookups: dict[str, list[int]] = {}
    for i, e in enumerate(events):
        if e.method == "eth_sendRawTransaction":
            h = tx_hash_of(e.params[0])
            if h in last_send and not any(j > last_send[h] for j in lookups.get(h, [])):
                return False
            last_send[h] = i
        elif e.method in ("eth_getTransactionReceipt", "eth_getTransactionByHash"):
            lookups.setdefault(str(e.params[0]).lower(), []).append(i)
    return True


def test_sends_checked__broken_blind_resend__caught():
    """The invariant bites on a log with a send, a lost answer and an immediate second send."""
    from keeper.devnet.faulty_proxy import ProxyEvent

    raw = "0x02f86c"
    blind = [
        ProxyEvent("eth_sendRawTransaction", [raw], "timeout_after", True),
        ProxyEvent("eth_sendRawTransaction", [raw], None, True),
    ]
    checked = [
        blind[0],
        ProxyEvent("eth_getTransactionReceipt", [tx_hash_of(raw)], None, True),
        blind[1],
    ]
    assert not sends_checked_before_resend(blind)
    assert sends_checked_before_resend(checked)


def test_rpc_faults__thirty_percent__every_intent_once_and_no_blind_resend(
    devnet, node, keeper_signer, caplog
):
    """Ten payments through a proxy failing 30% of calls (429, 5xx, timeouts before and after
    forwarding, resets): each lands exactly once."""
    recipient = "0x" + "6f" * 20
    start_balance = node.get_balance(recipient)
    start_nonce = node.get_transaction_count(keeper_signer.address)

    class MineClock:
        def wait_for_block(self, after):
            devnet.mine()
            return devnet.block_number()

    with FaultyProxy(devnet.url, rate=0.3, seed=11, hang_s=0.3) as proxy:
        rpc = RpcClient(
            proxy.url, timeout_s=0.2, retry=RetryPolicy(attempts=10, base_delay_s=0, max_delay_s=0)
        )
        submitter = Submitter(
            rpc,
            PublicMempool(rpc),
            keeper_signer,
            clock=MineClock(),
            policy=SubmitPolicy(replace_after_blocks=3, deadline_blocks=20),
        )
        with caplog.at_level(logging.WARNING):
            for i in range(1, 11):
                submitter.submit(
                    pay(value=i, to=recipient),
                    max_fee_wei=20 * GWEI,
                    priority_fee_wei=GWEI,
                    cap_wei=50 * GWEI,
                )
    assert node.get_balance(recipient) - start_balance == sum(range(1, 11))
    assert node.get_transaction_count(keeper_signer.address) == start_nonce + 10
    send_faults = proxy.faults("eth_sendRawTransaction")
    assert send_faults, "the seed must make some sends fail, or this test proves nothing"
    assert sends_checked_before_resend(proxy.events)
    assert "looking it up" in caplog.text
