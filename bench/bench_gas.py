"""Gas of a rebalance on the devnet: the BatchRebalancer against doing it by hand.

Same starting state, same four single-hop swaps through SwapRouter02 (WETH->USDC, USDC->WBTC,
DAI->USDC, USDT->USDC, sized like the demo treasury's rebalance), measured four ways. The state
is a steady one: every holder already holds each token, and the rebalancer has run a batch
before, as on every rebalance but the first.

- an externally owned account: 4 x (approve exact + exactInputSingle), 8 transactions;
- the same account: 4 approves, then one router multicall of the four swaps;
- the floor: allowances already set, one router multicall (1 transaction);
- the batch: one `execute` with exact approvals, measured outputs, five feed reads, the loss bound.

Also a migration (all shares of an ERC-4626 vault into Aave V3): the batch against redeem +
approve + supply by hand. The batch and the floor are itemized from opcode traces
(`bench.gas_items`): every unit above the floor is named. Figures are gas units.
Run alone: `.venv/bin/python -m bench.bench_gas` (prints the itemization too).
"""

from __future__ import annotations

from decimal import Decimal

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from web3 import Web3

from bench.gas_items import itemize
from keeper.chain.rebalancer import ALL, Step
from keeper.devnet.anvil import start_anvil
from keeper.devnet.artifacts import vyper_artifact
from keeper.devnet.book import AddressBook
from keeper.devnet.devnet import Devnet, cached_state, devnet_dir
from keeper.devnet.rebalancer import deploy_rebalancer
from keeper.devnet.recipe import FAR_DEADLINE, aave_artifact, artifact, snekmate_vault_source
from keeper.money import to_raw

MAX_UINT = 2**256 - 1
GAS = 5_000_000
SLIPPAGE_BPS = 50
# (token in, fee tier, token out, whole tokens in)
SWAPS = (("WETH", 500, "USDC", "2"), ("USDC", 3000, "WBTC", "3000"), ("DAI", 100, "USDC", "1000"), ("USDT", 100, "USDC", "1000"))
HOLDINGS = {"WETH": "12", "USDC": "10000", "DAI": "2000", "USDT": "2000", "WBTC": "0.01"}
MIGRATION = ("vault_usdc_a", "5000")  # vault key, whole underlying deposited
EXACT_INPUT_SINGLE = function_signature_to_4byte_selector("exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))")
MULTICALL = function_signature_to_4byte_selector("multicall(bytes[])")


class Bench:
    def __init__(self, net: Devnet):
        self.net, self.book = net, net.book
        self.w3: Web3 = net.w3
        accounts = self.book.accounts
        self.eoa, self.owner, self.keeper, self.lp = accounts["stranger"], accounts["owner"], accounts["keeper"], accounts["lp"]
        self.router = self.book.uniswap_v3["swap_router02"]
        self.quoter = self.w3.eth.contract(address=self.book.uniswap_v3["quoter_v2"], abi=artifact("quoter_v2").abi)
        self.erc20 = artifact("erc20").abi
        self.rebalancer = deploy_rebalancer(self.w3, self.book, self.owner, self.keeper, accounts["guardian"])
        self.vault_abi = vyper_artifact(snekmate_vault_source()).abi
        self.pool = self.w3.eth.contract(address=self.book.aave.pool, abi=aave_artifact("protocol/pool/Pool.sol/Pool.json").abi)

    # -- plumbing --------------------------------------------------------------------------
    def token(self, symbol: str):
        return self.w3.eth.contract(address=self.book.token(symbol).address, abi=self.erc20)

    def raw(self, symbol: str, whole: str) -> int:
        return to_raw(Decimal(whole), self.book.token(symbol).decimals)

    def send(self, to: str, data: str | bytes, sender: str) -> dict:
        data = data if isinstance(data, str) else "0x" + data.hex()
        tx_hash = self.net.rpc("eth_sendTransaction", {"from": sender, "to": to, "data": data, "gas": hex(GAS)})
        receipt = None
        while receipt is None:  # automine seals at once; the receipt can trail by a few ms
            receipt = self.net.rpc("eth_getTransactionReceipt", tx_hash)
        if int(receipt["status"], 16) != 1:
            raise RuntimeError(f"bench transaction to {to} reverted")
        return receipt

    def call(self, fn, sender: str, *, access_list: bool = False) -> dict:
        data = fn._encode_transaction_data()
        if not access_list:
            return self.send(fn.address, data, sender)
        # EIP-2930: the keeper can pre-declare what the batch touches (eth_createAccessList),
        # paying 2,400 / 1,900 per address / slot up front instead of 2,600 / 2,100 when cold.
        tx = {"from": sender, "to": fn.address, "data": data, "gas": hex(GAS)}
        listed = self.net.rpc("eth_createAccessList", tx, "latest")["accessList"]
        tx_hash = self.net.rpc("eth_sendTransaction", tx | {"accessList": listed, "type": "0x1"})
        receipt = None
        while receipt is None:
            receipt = self.net.rpc("eth_getTransactionReceipt", tx_hash)
        if int(receipt["status"], 16) != 1:
            raise RuntimeError("bench batch with an access list reverted")
        return receipt

    # -- the four swaps ----------------------------------------------------------------------
    def swap_calldata(self, token_in: str, fee: int, token_out: str, amount: int, recipient: str, min_out: int) -> bytes:
        params = (self.book.token(token_in).address, self.book.token(token_out).address, fee, recipient, amount, min_out, 0)
        return EXACT_INPUT_SINGLE + encode(["(address,address,uint24,address,uint256,uint256,uint160)"], [params])

    def quotes(self) -> list[int]:
        out = []
        for token_in, fee, token_out, whole in SWAPS:
            params = (self.book.token(token_in).address, self.book.token(token_out).address, self.raw(token_in, whole), fee, 0)
            out.append(self.quoter.functions.quoteExactInputSingle(params).call()[0] * (10_000 - SLIPPAGE_BPS) // 10_000)
        return out

    def fund(self) -> None:
        for holder in (self.eoa, self.rebalancer):
            for symbol, whole in HOLDINGS.items():
                self.call(self.token(symbol).functions.transfer(holder, self.raw(symbol, whole)), self.lp)
            key, whole = MIGRATION
            vault = self.w3.eth.contract(address=self.book.vaults[key].address, abi=self.vault_abi)
            asset = self.token(self.book.vaults[key].asset)
            self.call(asset.functions.approve(vault.address, self.raw("USDC", whole)), self.lp)
            self.call(vault.functions.deposit(self.raw("USDC", whole), holder), self.lp)

    def warm_up(self) -> None:
        """Steady state, not a first use: the rebalancer has run a batch before (its batch id
        slot is already non-zero), as it has on every rebalance but the first."""
        usdt, usdc = self.book.token("USDT").address, self.book.token("USDC").address
        data = self.swap_calldata("USDT", 100, "USDC", 10**6, self.rebalancer, 0)
        step = Step.swap(self.router, usdt, usdc, 10**6, 0, data).as_abi()
        contract = self.w3.eth.contract(address=self.rebalancer, abi=_rebalancer_abi())
        self.call(contract.functions.execute(1, FAR_DEADLINE, [step], []), self.keeper)
        # Aave accrues per second since its last update, which the cached devnet made at build
        # time: touch the USDC reserve now, so every run measures from the same accrual state.
        self.call(self.token("USDC").functions.approve(self.pool.address, 10**6), self.lp)
        self.call(self.pool.functions.supply(usdc, 10**6, self.lp, 0), self.lp)

    def eoa_by_hand(self, mins: list[int]) -> int:
        used = 0
        for (token_in, fee, token_out, whole), min_out in zip(SWAPS, mins, strict=True):
            amount = self.raw(token_in, whole)
            used += int(self.call(self.token(token_in).functions.approve(self.router, amount), self.eoa)["gasUsed"], 16)
            data = self.swap_calldata(token_in, fee, token_out, amount, self.eoa, min_out)
            used += int(self.send(self.router, data, self.eoa)["gasUsed"], 16)
        return used

    def multicall(self, mins: list[int]) -> dict:
        calls = [self.swap_calldata(t_in, fee, t_out, self.raw(t_in, whole), self.eoa, m)
                 for (t_in, fee, t_out, whole), m in zip(SWAPS, mins, strict=True)]
        return self.send(self.router, MULTICALL + encode(["bytes[]"], [calls]), self.eoa)

    def approve_all(self, exact: bool) -> int:
        used = 0
        for token_in, _, _, whole in SWAPS:
            amount = self.raw(token_in, whole) if exact else MAX_UINT
            used += int(self.call(self.token(token_in).functions.approve(self.router, amount), self.eoa)["gasUsed"], 16)
        return used

    def batch(self, mins: list[int], batch_id: int, *, access_list: bool = False) -> dict:
        steps = []
        for (token_in, fee, token_out, whole), min_out in zip(SWAPS, mins, strict=True):
            amount = self.raw(token_in, whole)
            data = self.swap_calldata(token_in, fee, token_out, amount, self.rebalancer, 0)
            steps.append(Step.swap(self.router, self.book.token(token_in).address, self.book.token(token_out).address,
                                   amount, min_out, data).as_abi())
        contract = self.w3.eth.contract(address=self.rebalancer, abi=_rebalancer_abi())
        return self.call(contract.functions.execute(batch_id, FAR_DEADLINE, steps, []), self.keeper, access_list=access_list)

    # -- the migration ------------------------------------------------------------------------
    def migration_by_hand(self) -> int:
        key, _ = MIGRATION
        vault = self.w3.eth.contract(address=self.book.vaults[key].address, abi=self.vault_abi)
        shares = vault.functions.balanceOf(self.eoa).call()
        assets = vault.functions.previewRedeem(shares).call()
        usdc = self.token("USDC")
        used = int(self.call(vault.functions.redeem(shares, self.eoa, self.eoa), self.eoa)["gasUsed"], 16)
        used += int(self.call(usdc.functions.approve(self.pool.address, assets), self.eoa)["gasUsed"], 16)
        used += int(self.call(self.pool.functions.supply(usdc.address, assets, self.eoa, 0), self.eoa)["gasUsed"], 16)
        return used

    def migration_batch(self, batch_id: int) -> dict:
        key, _ = MIGRATION
        vault = self.w3.eth.contract(address=self.book.vaults[key].address, abi=self.vault_abi)
        assets = vault.functions.previewRedeem(vault.functions.balanceOf(self.rebalancer).call()).call()
        usdc, a_usdc = self.book.token("USDC").address, self.book.aave.a_tokens["USDC"]
        steps = [Step.vault_redeem(vault.address, usdc, ALL, assets).as_abi(),
                 Step.aave_supply(self.pool.address, usdc, a_usdc, assets, assets - 1).as_abi()]
        contract = self.w3.eth.contract(address=self.rebalancer, abi=_rebalancer_abi())
        return self.call(contract.functions.execute(batch_id, FAR_DEADLINE, steps, []), self.keeper)

    def classify(self, call: dict) -> str:
        return "swaps (router)" if to_checksum_address(call["to"]) == self.router else "protocol calls"


def _rebalancer_abi():
    from keeper.chain.rebalancer import abi

    return abi()


def rewind(net: Devnet, snapshot: str, base: int) -> str:
    """Back to the snapshot, the next block at `base` seconds; returns a new snapshot."""
    net.revert(snapshot)
    snapshot = net.snapshot()
    net.rpc("evm_setNextBlockTimestamp", base)
    return snapshot


def start_tracing_devnet() -> Devnet:
    """A devnet from the cached state, with opcode tracing on (for the itemization)."""
    state, book_path = cached_state(False)
    anvil = start_anvil(load_state=state, log_dir=devnet_dir() / "logs", extra_args=("--steps-tracing",))
    net = Devnet(anvil, anvil.url, Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 120})), AddressBook.load(book_path))
    net.refresh_feeds()
    return net


def measure() -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """(figures, itemizations) on a fresh tracing devnet."""
    net = start_tracing_devnet()
    try:
        b = Bench(net)
        b.fund()
        b.warm_up()
        mins = b.quotes()
        figures: dict[str, int] = {}
        # Every scenario sees the same clock: its first block 12 s after the snapshot, then 12 s
        # a block (Aave accrues interest per second, so wall-clock gaps would change the figures).
        base = int(net.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16) + 12
        net.rpc("anvil_setBlockTimestampInterval", 12)
        start = net.snapshot()
        net.rpc("evm_setNextBlockTimestamp", base)

        figures["gas_eoa_4x_approve_swap"] = b.eoa_by_hand(mins)
        start = rewind(net, start, base)
        approvals = b.approve_all(exact=True)
        figures["gas_eoa_4_approves_then_multicall"] = approvals + int(b.multicall(mins)["gasUsed"], 16)
        start = rewind(net, start, base)
        b.approve_all(exact=False)  # allowances already set: not counted
        floor = b.multicall(mins)
        figures["gas_floor_multicall_allowances_set"] = int(floor["gasUsed"], 16)
        floor_items = itemize(net.rpc, floor["transactionHash"], lambda call: "swaps (router)")
        start = rewind(net, start, base)
        batch = b.batch(mins, 2)
        figures["gas_batch_4_swaps"] = int(batch["gasUsed"], 16)
        batch_items = itemize(net.rpc, batch["transactionHash"], b.classify)
        start = rewind(net, start, base)
        figures["gas_batch_4_swaps_access_list"] = int(b.batch(mins, 2, access_list=True)["gasUsed"], 16)
        start = rewind(net, start, base)
        figures["gas_migration_vault_to_aave_by_hand"] = b.migration_by_hand()
        start = rewind(net, start, base)
        figures["gas_migration_vault_to_aave_batch"] = int(b.migration_batch(2)["gasUsed"], 16)
        net.revert(start)

        figures["gas_batch_over_eoa_permille"] = figures["gas_batch_4_swaps"] * 1000 // figures["gas_eoa_4x_approve_swap"]
        figures["gas_batch_above_floor"] = figures["gas_batch_4_swaps"] - figures["gas_floor_multicall_allowances_set"]
        for line, gas in batch_items.items():
            figures[f"gas_batch_item_{line.replace(' ', '_').replace('(', '').replace(')', '')}"] = gas
        return figures, {"batch": batch_items, "floor": floor_items}
    finally:
        net.stop()


def run() -> dict[str, int]:
    return measure()[0]


def _print(figures: dict[str, int], items: dict[str, dict[str, int]]) -> None:
    for key, value in figures.items():
        if "_item_" not in key:
            print(f"{key:45} {value:>10,}")
    lines = sorted(set(items["batch"]) | set(items["floor"]))
    print(f"\n{'line':24} {'batch':>10} {'floor':>10} {'above floor':>12}")
    for line in lines:
        a, f = items["batch"].get(line, 0), items["floor"].get(line, 0)
        print(f"{line:24} {a:>10,} {f:>10,} {a - f:>12,}")
    total_b, total_f = sum(items["batch"].values()), sum(items["floor"].values())
    print(f"{'total':24} {total_b:>10,} {total_f:>10,} {total_b - total_f:>12,}")


if __name__ == "__main__":
    _print(*measure())
