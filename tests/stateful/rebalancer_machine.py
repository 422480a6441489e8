"""The rebalancer under random use: a hypothesis RuleBasedStateMachine with a shadow ledger.

Rules send random batches (valid and invalid: wrong caller, reused id, past deadline, amounts
above what is held, ALL amounts, partial pulls, bad prices, unmet minimums and post-conditions,
vault deposits and redemptions) and move the world between them (prices, time, pauses, the
router and asset allowlists, the loss bound, withdrawals), each from a random caller. The model
(`rebalancer_model`) predicts every outcome from the state before the call.

After every step one invariant method checks, in this order, so a broken contract is named by
the first property it breaks:
  1. ids:         executed batch ids strictly increase, so none ran twice (BatchExecuted events);
  2. loss:        no executed batch lost more than the bound (from observed balances and feeds);
  3. owner-only:  nothing reached anyone but the owner, and the owner got exactly what was withdrawn;
  4. allowances:  the contract leaves no allowance to any router or vault;
  5. ledger:      the chain's balances and configuration equal the shadow ledger;
  6. outcomes:    every call did what the model predicted, reverts with the predicted reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from itertools import pairwise
from pathlib import Path

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, keccak
from eth_utils.abi import collapse_if_tuple
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from rebalancer_model import ALL, BPS, Market, Model, Outcome, SwapPlan, TokenSpec, VaultPlan
from rebalancer_world import SWAP_AMOUNT_OFFSET, Reverted, raw_step

from keeper.chain.rebalancer import StepKind
from keeper.devnet.artifacts import vyper_artifact

PLAIN = ("USDC", "DAI", "WBTC", "WETH", "FEE", "NORET", "RACE")
VAULTS = ("vault_usdc_a", "vault_usdc_b", "vault_dai")
SYMBOLS = PLAIN + VAULTS
HOLDERS = ("rebalancer", "owner", "keeper", "guardian", "stranger", "router")
ROLES = st.sampled_from(["keeper"] * 5 + ["owner", "guardian", "stranger"])
ADMIN_ROLES = st.sampled_from(["owner"] * 3 + ["keeper", "guardian", "stranger"])
# Hypothesis leans towards the first choice of a sampled_from: the ordinary case comes first.
FACTORS = [Fraction(1), Fraction(95, 100), Fraction(101, 100), Fraction(995, 1000), Fraction(99, 100), Fraction(1, 2)]
FRACTIONS = [Fraction(1, 4), Fraction(1, 100), Fraction(1), Fraction(6, 5)]
LENS = Path(__file__).resolve().parent / "Lens.vy"


@cache
def _codec(abi_json: str, name: str) -> tuple[str, list[str], list[str]]:
    """(selector hex, input types, output types) of function `name` in an ABI (as JSON)."""
    (fn,) = [f for f in json.loads(abi_json) if f.get("type") == "function" and f["name"] == name]
    inputs = [collapse_if_tuple(i) for i in fn["inputs"]]
    outputs = [collapse_if_tuple(o) for o in fn["outputs"]]
    selector = function_signature_to_4byte_selector(f"{name}({','.join(inputs)})").hex()
    return selector, inputs, outputs


def encode_call(contract, name: str, *args) -> str:
    """Calldata (hex) for `contract.name(*args)`, without web3's per-call argument checks: the
    machine sends thousands of them."""
    selector, inputs, _ = _codec(json.dumps(contract.abi), name)
    return "0x" + selector + encode(inputs, args).hex()


BATCH_EXECUTED = "0x" + keccak(text="BatchExecuted(uint256,uint256,uint256,uint256,uint256)").hex()


def _lens(world):
    if getattr(world, "lens", None) is None:
        world.lens = world.txs.deploy(vyper_artifact(LENS))
    return world.lens


class RebalancerMachine(RuleBasedStateMachine):
    """Bind `world` with `machine_for(world)`; each example starts from a chain snapshot."""

    world = None
    # The outcome check (6) compares with the model's prediction, not with a safety property;
    # the broken-variant test turns it off so each safety invariant is seen to bite on its own.
    check_outcomes = True

    def __init__(self):
        super().__init__()
        w = self.world
        self.lens = _lens(w)  # before the snapshot: it must outlive every example
        self.snapshot = w.chain.snapshot()
        self.who = {"rebalancer": w.rebalancer.address, "owner": w.owner, "keeper": w.keeper,
                    "guardian": w.guardian, "stranger": w.stranger, "router": w.router.address}
        self.spenders = [w.router.address] + [w.address(v) for v in VAULTS]
        self._observe_data = encode_call(
            self.lens, "observe",
            w.rebalancer.address, [w.address(s) for s in SYMBOLS], [self.who[h] for h in HOLDERS], self.spenders,
            [w.assets[s].feed.address for s in PLAIN], [w.address(v) for v in VAULTS],
        )
        self._observe_types = _codec(json.dumps(self.lens.abi), "observe")[2]
        self._seen: Observation | None = None
        start = self._observe()
        specs = {s: TokenSpec(s, w.assets[s].decimals, fee_bps=100 if s == "FEE" else 0) for s in PLAIN}
        specs |= {v: TokenSpec(v, w.token(v).functions.decimals().call(), vault_of=w.vault_asset[v]) for v in VAULTS}
        self.model = Model(
            tokens=specs,
            held=dict(start.held["rebalancer"]),
            owner_held=dict(start.held["owner"]),
            allowed=set(SYMBOLS),
            paused=start.config[0],
            last_batch_id=start.config[1],
            max_loss_bps=start.config[2],
        )
        self.others_start = {h: start.held[h] for h in ("keeper", "guardian", "stranger")}
        self.first_last_batch_id = start.config[1]
        self.executed_ids: list[int] = []
        self.batches: list[tuple[int, int, int, int]] = []  # observed (before, after, sold, bps)
        self.mismatches: list[str] = []

    def teardown(self):
        self.world.chain.revert(self.snapshot)
        self.world.reload_prices()

    # -- reading the chain -----------------------------------------------------------------

    def _observe(self) -> Observation:
        """The chain as it is now: one Lens call, reused until the machine sends a transaction."""
        if self._seen is None:
            reply = self.world.txs.raw("eth_call", {"to": self.lens.address, "data": self._observe_data}, "latest")
            (o,) = decode(self._observe_types, bytes.fromhex(reply[2:]))
            timestamp, balances, allowances, answers, updated, totals, paused, last_id, max_loss = o
            self._seen = Observation(
                held={h: {s: balances[i * len(HOLDERS) + j] for i, s in enumerate(SYMBOLS)} for j, h in enumerate(HOLDERS)},
                allowances=[(SYMBOLS[i // len(self.spenders)], a) for i, a in enumerate(allowances) if a],
                market=Market(
                    now=timestamp + 1,
                    answers=dict(zip(PLAIN, answers, strict=True)),
                    updated_at=dict(zip(PLAIN, updated, strict=True)),
                    vault_supply={v: totals[2 * i] for i, v in enumerate(VAULTS)},
                    vault_assets={v: totals[2 * i + 1] for i, v in enumerate(VAULTS)},
                ),
                config=(paused, last_id, max_loss),
            )
        return self._seen

    def _send(self, contract, name: str, args: tuple, role: str):
        """Call `contract.name(*args)` as `role`: (raw receipt, None) or (None, revert reason)."""
        self._seen = None
        try:
            return self.world.send_raw(contract.address, encode_call(contract, name, *args), self.who[role]), None
        except Reverted as e:
            return None, e.reason

    def _expect(self, what: str, predicted, reason) -> None:
        """Record a call whose outcome differs from the model's prediction (checked last)."""
        outcome = predicted if isinstance(predicted, Outcome) else Outcome(predicted)
        if reason is None and outcome.reason is None:
            return
        if reason is not None and outcome.reason is not None and outcome.accepts(reason):
            return
        self.mismatches.append(f"{what}: predicted {outcome.reason or 'success'!r}, got {reason or 'success'!r}")

    # -- rules: batches --------------------------------------------------------------------

    @rule(data=st.data())
    def execute_batch(self, data):
        w, model = self.world, self.model
        seen = self._observe()
        market = seen.market
        role = data.draw(ROLES, label="caller")
        id_mode = data.draw(st.sampled_from(["next"] * 6 + ["reuse", "lower", "skip"]), label="id")
        batch_id = {"next": model.last_batch_id + 1, "reuse": model.last_batch_id,
                    "lower": max(model.last_batch_id - 1, 0), "skip": model.last_batch_id + 5}[id_mode]
        deadline = market.now + data.draw(st.sampled_from([3_600] * 9 + [-3_600]), label="deadline")

        plans, steps, planned = [], [], dict(model.held)
        for _ in range(data.draw(st.integers(1, 4), label="steps")):
            kind = data.draw(st.sampled_from(["swap"] * 5 + ["deposit", "redeem"]), label="kind")
            if kind == "swap":
                plan, step = self._draw_swap(data, planned, market, seen.held["router"])
            else:
                plan, step = self._draw_vault(data, planned, kind == "deposit")
            plans.append(plan)
            steps.append(step)

        posts: list[tuple[str, int]] = []
        dry = model.simulate_batch(role, batch_id, deadline, plans, [], market)
        if dry.reason is None and data.draw(st.sampled_from([False, True]), label="post-condition"):
            symbol = data.draw(st.sampled_from(SYMBOLS), label="post token")
            posts.append((symbol, dry.balances[symbol] + data.draw(st.integers(0, 1), label="post miss")))
        predicted = model.simulate_batch(role, batch_id, deadline, plans, posts, market)

        args = (batch_id, deadline, steps, [(w.address(s), m) for s, m in posts])
        receipt, reason = self._send(w.rebalancer, "execute", args, role)
        self._expect(f"execute #{batch_id} by {role}", predicted, reason)
        if receipt is not None:
            self.executed_ids += [
                int(log["topics"][1], 16) for log in receipt["logs"]
                if log["topics"][0] == BATCH_EXECUTED and log["address"].lower() == w.rebalancer.address.lower()
            ]
            self._observe_loss(seen, self._observe(), plans)
        if predicted.reason is None:
            model.apply(predicted, batch_id)

    # Rules are drawn evenly: batches, the point of the machine, get three more entries.
    @rule(data=st.data())
    def execute_batch_2(self, data):
        self.execute_batch(data)

    @rule(data=st.data())
    def execute_batch_3(self, data):
        self.execute_batch(data)

    @rule(data=st.data())
    def execute_batch_4(self, data):
        self.execute_batch(data)

    def _draw_swap(self, data, planned: dict[str, int], market: Market, inventory: dict[str, int]):
        w = self.world
        token_in = data.draw(st.sampled_from(PLAIN), label="in")
        token_out = data.draw(st.sampled_from([s for s in PLAIN if s != token_in] + [token_in]), label="out")
        mode = data.draw(st.sampled_from(["fraction", "fraction", "all", "one", "partial"]), label="amount")
        pull = None
        if mode == "all":
            amount = resolved = ALL
            resolved = planned[token_in]
        elif mode == "one":
            amount = resolved = 1
        else:
            amount = resolved = int(planned[token_in] * data.draw(st.sampled_from(FRACTIONS), label="fraction"))
            if mode == "partial":
                pull = resolved = amount // 2
        factor = data.draw(st.sampled_from(FACTORS), label="price factor")
        paid = int(self._fair(token_in, token_out, resolved, market) * factor)
        paid = min(paid, inventory[token_out])
        arrives = paid - self.model.fee(token_out, paid)
        min_out = data.draw(st.sampled_from([arrives, 0, arrives, arrives + 1]), label="min out")
        planned[token_in] -= min(resolved, planned[token_in])
        planned[token_out] += arrives
        calldata_amount = pull if pull is not None else (0 if amount == ALL else amount)
        data_bytes = bytes.fromhex(encode_call(
            w.router, "swap", w.address(token_in), w.address(token_out), calldata_amount, paid, w.rebalancer.address)[2:])
        offset = 0 if pull is not None else SWAP_AMOUNT_OFFSET
        step = raw_step(StepKind.SWAP, w.router.address, w.address(token_in), w.address(token_out), amount, min_out,
                        data_bytes, offset)
        return SwapPlan(token_in, token_out, amount, paid, min_out, pull), step

    def _draw_vault(self, data, planned: dict[str, int], deposit: bool):
        w = self.world
        vault = data.draw(st.sampled_from(VAULTS), label="vault")
        token_in = w.vault_asset[vault] if deposit else vault
        mode = data.draw(st.sampled_from(["fraction", "fraction", "all"]), label="vault amount")
        if mode == "all":
            amount = ALL
            planned[token_in] = 0
        else:
            amount = int(planned[token_in] * data.draw(st.sampled_from(FRACTIONS), label="vault fraction"))
            planned[token_in] -= min(amount, planned[token_in])
        min_out = data.draw(st.sampled_from([0, 1, 10**30]), label="vault min out")
        kind = StepKind.VAULT_DEPOSIT if deposit else StepKind.VAULT_REDEEM
        underlying = w.address(w.vault_asset[vault])
        ins, outs = (underlying, w.address(vault)) if deposit else (w.address(vault), underlying)
        return VaultPlan(vault, deposit, amount, min_out), raw_step(kind, w.address(vault), ins, outs, amount, min_out)

    def _fair(self, token_in: str, token_out: str, amount: int, market: Market) -> Fraction:
        a, b = self.model.tokens[token_in], self.model.tokens[token_out]
        value = Fraction(amount * market.answers[token_in], 10**a.decimals)
        return value * 10**b.decimals / market.answers[token_out]

    def _observe_loss(self, before: Observation, after: Observation, plans) -> None:
        """The batch's loss as the chain shows it: balances before and after, at the feeds' prices
        and the vaults' share prices after (as the contract values them); staleness aside."""
        market = after.market
        market = Market(0, market.answers, market.updated_at, market.vault_supply, market.vault_assets)
        touched = {s for p in plans for s in self.model._tokens_of(p)}
        def value(symbol: str, amount: int) -> int:
            return self.model.value(symbol, amount, market, market.vault_supply, market.vault_assets)
        pairs = [(value(s, before.held["rebalancer"][s]), value(s, after.held["rebalancer"][s])) for s in touched]
        sold = sum(max(b - a, 0) for b, a in pairs)
        self.batches.append((sum(b for b, _ in pairs), sum(a for _, a in pairs), sold, before.config[2]))

    # -- rules: the world between batches ----------------------------------------------------

    @rule(symbol=st.sampled_from(PLAIN), percent=st.integers(50, 150))
    def move_price(self, symbol, percent):
        w = self.world
        answer = self._observe().market.answers[symbol]
        self._seen = None
        w.send_raw(w.assets[symbol].feed.address, encode_call(w.assets[symbol].feed, "updateAnswer", max(answer * percent // 100, 1)), w.deployer)

    @rule(seconds=st.sampled_from([60, 600, 3 * 86_400]))
    def warp(self, seconds):
        self._seen = None
        self.world.warp(seconds)

    @rule(role=ADMIN_ROLES)
    def pause(self, role):
        predicted = self.model.snapshot().pause(role)
        _, reason = self._send(self.world.rebalancer, "pause", (), role)
        self._expect(f"pause by {role}", predicted, reason)
        if predicted is None:
            self.model.pause(role)

    @rule(role=ADMIN_ROLES)
    def unpause(self, role):
        predicted = self.model.snapshot().unpause(role)
        _, reason = self._send(self.world.rebalancer, "unpause", (), role)
        self._expect(f"unpause by {role}", predicted, reason)
        if predicted is None:
            self.model.unpause(role)

    @rule(role=ADMIN_ROLES, allowed=st.booleans())
    def set_router(self, role, allowed):
        w = self.world
        spender = w.router.address if allowed else "0x" + "00" * 20
        predicted = self.model.snapshot().set_router(role, allowed)
        _, reason = self._send(w.rebalancer, "set_router", (w.router.address, spender), role)
        self._expect(f"set_router({allowed}) by {role}", predicted, reason)
        if predicted is None:
            self.model.set_router(role, allowed)

    @rule(role=ADMIN_ROLES, bps=st.sampled_from([0, 10, 100, 500]))
    def set_max_loss(self, role, bps):
        predicted = self.model.snapshot().set_max_loss(role, bps)
        _, reason = self._send(self.world.rebalancer, "set_max_loss_bps", (bps,), role)
        self._expect(f"set_max_loss_bps({bps}) by {role}", predicted, reason)
        if predicted is None:
            self.model.set_max_loss(role, bps)

    @rule(role=ADMIN_ROLES, symbol=st.sampled_from(SYMBOLS), add=st.booleans())
    def toggle_asset(self, role, symbol, add):
        w, model = self.world, self.model
        if not add:
            call, predicted = ("remove_asset", (w.address(symbol),)), model.snapshot().remove_asset(role, symbol)
        elif symbol in VAULTS:
            call, predicted = ("set_vault", (w.address(symbol),)), model.snapshot().add_asset(role, symbol)
        else:
            call = ("set_asset", (w.address(symbol), w.assets[symbol].feed.address, model.staleness))
            predicted = model.snapshot().add_asset(role, symbol)
        _, reason = self._send(w.rebalancer, *call, role)
        self._expect(f"{'add' if add else 'remove'} {symbol} by {role}", predicted, reason)
        if predicted is None:
            (model.add_asset if add else model.remove_asset)(role, symbol)

    @rule(role=ADMIN_ROLES, symbol=st.sampled_from(SYMBOLS), fraction=st.sampled_from(FRACTIONS))
    def withdraw(self, role, symbol, fraction):
        w = self.world
        amount = int(self.model.held[symbol] * fraction)
        predicted = self.model.snapshot().withdraw(role, symbol, amount)
        _, reason = self._send(w.rebalancer, "withdraw", (w.address(symbol), amount), role)
        self._expect(f"withdraw {amount} {symbol} by {role}", predicted, reason)
        if predicted is None:
            self.model.withdraw(role, symbol, amount)

    # -- the invariants ---------------------------------------------------------------------

    @invariant()
    def invariants_hold(self):
        model = self.model
        seen = self._observe()
        held = seen.held

        ids = [self.first_last_batch_id, *self.executed_ids]
        assert all(a < b for a, b in pairwise(ids)), f"invariant ids: batch ids ran out of order or twice: {ids}"

        for vb, va, sold, bps in self.batches:
            assert va >= vb or (vb - va) * BPS <= sold * bps, (
                f"invariant loss: a batch lost {(vb - va) * BPS / max(sold, 1):.1f} bps of the value sold (bound {bps})"
            )

        for holder, start in self.others_start.items():
            grown = {s: held[holder][s] - start[s] for s in SYMBOLS if held[holder][s] > start[s]}
            assert not grown, f"invariant owner-only: {holder} received {grown}"
        assert held["owner"] == model.owner_held, f"invariant owner-only: owner holds {held['owner']}, withdrawn {model.owner_held}"

        assert not seen.allowances, f"invariant allowances: allowance left behind: {seen.allowances}"

        assert held["rebalancer"] == model.held, (
            "invariant ledger: chain balances differ from the shadow ledger: "
            + str({s: (held["rebalancer"][s], model.held[s]) for s in SYMBOLS if held["rebalancer"][s] != model.held[s]})
        )
        assert seen.config == (model.paused, model.last_batch_id, model.max_loss_bps), (
            f"invariant ledger: configuration {seen.config} differs from the model's"
        )

        if self.check_outcomes:
            assert not self.mismatches, f"invariant outcomes: {self.mismatches}"


@dataclass
class Observation:
    held: dict[str, dict[str, int]]  # holder -> symbol -> raw units
    allowances: list[tuple[str, int]]  # non-zero allowances of the rebalancer (symbol, amount)
    market: Market
    config: tuple[bool, int, int]  # paused, last_batch_id, max_loss_bps


def machine_for(world, *, check_outcomes: bool = True) -> type[RebalancerMachine]:
    return type("RebalancerMachineBound", (RebalancerMachine,), {"world": world, "check_outcomes": check_outcomes})
