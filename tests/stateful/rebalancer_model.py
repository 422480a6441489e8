"""The shadow of the BatchRebalancer: a pure-Python model that predicts what a call will do.

`Model` keeps the shadow ledger (what the contract and its owner hold of every token) and the
contract's configuration as the model believes it is. `simulate_batch` predicts a batch from the
ledger and from the market as read *before* the call (prices, feed times, vault totals): either
the revert reason the contract must give, or the balances after and the values the loss bound
saw. Nothing here touches the chain; the machine compares predictions with what happened.

Units: raw token units; feed answers with 8 decimals; values USD x 1e36, as the contract computes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

ALL = 2**256 - 1
BPS = 10_000
FEED_DECIMALS = 8

# The contract's revert reasons the model predicts.
NOT_KEEPER = "rebalancer: not keeper"
NOT_OWNER = "rebalancer: not owner"
NOT_GUARDIAN = "rebalancer: not guardian or owner"
PAUSED = "pausable: contract is paused"
NOT_PAUSED = "pausable: contract is not paused"
EXPIRED = "rebalancer: expired"
ID_USED = "rebalancer: batch id already used"
SAME_TOKEN = "rebalancer: token in is token out"
NOT_ALLOWED = "rebalancer: asset not allowed"
ZERO = "rebalancer: zero amount"
NO_ROUTER = "rebalancer: router not allowed"
MIN_OUT = "rebalancer: min out"
POST = "rebalancer: post-condition"
STALE = "rebalancer: stale price"
LOSS = "rebalancer: loss bound"
NOT_PLAIN = "rebalancer: underlying is not a plain asset"
REDEEM_MAX = "erc4626: redeem more than maximum"
#: A token refusing a transfer: OpenZeppelin-style tokens say so, Vyper tokens underflow silently.
TOKEN_REFUSED = frozenset({"ERC20: transfer amount exceeds balance", "erc20: transfer amount exceeds balance", ""})


@dataclass(frozen=True)
class TokenSpec:
    symbol: str
    decimals: int
    fee_bps: int = 0  # taken from every transfer (the FEE token)
    vault_of: str | None = None  # a vault's underlying symbol


@dataclass
class Market:
    """The world outside the contract, read before a call."""

    now: int  # the next block's timestamp (seconds), as well as the model can know it
    answers: dict[str, int]  # plain symbol -> feed answer (8 decimals)
    updated_at: dict[str, int]  # plain symbol -> seconds
    vault_supply: dict[str, int]
    vault_assets: dict[str, int]


@dataclass(frozen=True)
class SwapPlan:
    """A swap as the machine sends it: the router pulls `pull` (None: the approved amount) and
    pays `paid` of token_out."""

    token_in: str
    token_out: str
    amount_in: int  # or ALL
    paid: int
    min_out: int
    pull: int | None = None


@dataclass(frozen=True)
class VaultPlan:
    vault: str
    deposit: bool
    amount_in: int  # assets (deposit) or shares (redeem), or ALL
    min_out: int


@dataclass
class Outcome:
    reason: str | frozenset | None  # None = success
    balances: dict[str, int] = field(default_factory=dict)
    value_before: int = 0
    value_after: int = 0
    value_sold: int = 0

    def accepts(self, reason: str) -> bool:
        if isinstance(self.reason, frozenset):
            return reason in self.reason
        return reason == self.reason


@dataclass
class Model:
    tokens: dict[str, TokenSpec]
    held: dict[str, int]  # the contract's balances: the shadow ledger
    owner_held: dict[str, int]  # what the owner has received
    allowed: set[str]
    router_allowed: bool = True
    paused: bool = False
    max_loss_bps: int = 100
    last_batch_id: int = 0
    staleness: int = 86_400

    def fee(self, symbol: str, amount: int) -> int:
        return amount * self.tokens[symbol].fee_bps // BPS

    # -- batches ---------------------------------------------------------------------------

    def simulate_batch(
        self, role: str, batch_id: int, deadline: int, steps: list[SwapPlan | VaultPlan],
        posts: list[tuple[str, int]], market: Market,
    ) -> Outcome:
        if role != "keeper":
            return Outcome(NOT_KEEPER)
        if self.paused:
            return Outcome(PAUSED)
        if market.now > deadline:
            return Outcome(EXPIRED)
        if batch_id <= self.last_batch_id:
            return Outcome(ID_USED)
        held = dict(self.held)
        supply, assets = dict(market.vault_supply), dict(market.vault_assets)
        touched: list[str] = []
        before: dict[str, int] = {}

        def track(symbol: str) -> str | None:
            if symbol not in before:
                if symbol not in self.allowed:
                    return NOT_ALLOWED
                touched.append(symbol)
                before[symbol] = held[symbol]
            return None

        for step in steps:
            token_in, token_out = self._tokens_of(step)
            if token_in == token_out:
                return Outcome(SAME_TOKEN)
            reason = track(token_in) or track(token_out)
            if reason:
                return Outcome(reason)
            amount = held[token_in] if step.amount_in == ALL else step.amount_in
            if amount == 0:
                return Outcome(ZERO)
            in_before, out_before = held[token_in], held[token_out]
            if isinstance(step, SwapPlan):
                if not self.router_allowed:
                    return Outcome(NO_ROUTER)
                pull = amount if step.pull is None else step.pull
                if pull > held[token_in]:
                    return Outcome(TOKEN_REFUSED)
                held[token_in] -= pull
                held[token_out] += step.paid - self.fee(token_out, step.paid)
            elif step.deposit:
                if amount > held[token_in]:
                    return Outcome(TOKEN_REFUSED)
                shares = amount * (supply[step.vault] + 1) // (assets[step.vault] + 1)
                held[token_in] -= amount
                assets[step.vault] += amount
                supply[step.vault] += shares
                held[token_out] += shares
            else:
                if amount > held[token_in]:
                    return Outcome(REDEEM_MAX)
                paid = amount * (assets[step.vault] + 1) // (supply[step.vault] + 1)
                held[token_in] -= amount
                supply[step.vault] -= amount
                assets[step.vault] -= paid
                held[token_out] += paid
            received = max(held[token_out] - out_before, 0)
            assert in_before - held[token_in] <= amount  # the model's own sanity
            if received < step.min_out:
                return Outcome(MIN_OUT)

        for symbol, minimum in posts:
            if held[symbol] < minimum:
                return Outcome(POST)

        value_before = value_after = value_sold = 0
        for symbol in touched:
            values = []
            for amount in (before[symbol], held[symbol]):
                value = self.value(symbol, amount, market, supply, assets)
                if value is None:
                    return Outcome(STALE)
                values.append(value)
            value_before += values[0]
            value_after += values[1]
            value_sold += max(values[0] - values[1], 0)
        if value_after < value_before and (value_before - value_after) * BPS > value_sold * self.max_loss_bps:
            return Outcome(LOSS)
        return Outcome(None, held, value_before, value_after, value_sold)

    def value(self, symbol: str, amount: int, market: Market, supply: dict, assets: dict) -> int | None:
        """USD x 1e36 of `amount` raw units, as the contract values it; None if the price is stale."""
        if amount == 0:
            return 0
        spec = self.tokens[symbol]
        plain = spec.vault_of or symbol
        units = amount
        if spec.vault_of:
            units = amount * (assets[symbol] + 1) // (supply[symbol] + 1)
        if market.updated_at[plain] + self.staleness < market.now:
            return None
        price18 = market.answers[plain] * 10 ** (18 - FEED_DECIMALS)
        return units * 10 ** (18 - self.tokens[plain].decimals) * price18

    def apply(self, outcome: Outcome, batch_id: int) -> None:
        assert outcome.reason is None
        self.held = outcome.balances
        self.last_batch_id = batch_id

    def _tokens_of(self, step: SwapPlan | VaultPlan) -> tuple[str, str]:
        if isinstance(step, SwapPlan):
            return step.token_in, step.token_out
        underlying = self.tokens[step.vault].vault_of
        return (underlying, step.vault) if step.deposit else (step.vault, underlying)

    # -- the owner's and the guardian's calls --------------------------------------------

    def withdraw(self, role: str, symbol: str, amount: int) -> str | frozenset | None:
        if role != "owner":
            return NOT_OWNER
        if amount > self.held[symbol]:
            return TOKEN_REFUSED
        self.held[symbol] -= amount
        self.owner_held[symbol] += amount - self.fee(symbol, amount)
        return None

    def pause(self, role: str) -> str | None:
        if role not in ("owner", "guardian"):
            return NOT_GUARDIAN
        if self.paused:
            return PAUSED
        self.paused = True
        return None

    def unpause(self, role: str) -> str | None:
        if role != "owner":
            return NOT_OWNER
        if not self.paused:
            return NOT_PAUSED
        self.paused = False
        return None

    def set_router(self, role: str, allowed: bool) -> str | None:
        if role != "owner":
            return NOT_OWNER
        self.router_allowed = allowed
        return None

    def set_max_loss(self, role: str, bps: int) -> str | None:
        if role != "owner":
            return NOT_OWNER
        self.max_loss_bps = bps
        return None

    def remove_asset(self, role: str, symbol: str) -> str | None:
        if role != "owner":
            return NOT_OWNER
        self.allowed.discard(symbol)
        return None

    def add_asset(self, role: str, symbol: str) -> str | None:
        if role != "owner":
            return NOT_OWNER
        underlying = self.tokens[symbol].vault_of
        if underlying and underlying not in self.allowed:
            return NOT_PLAIN
        self.allowed.add(symbol)
        return None

    def snapshot(self) -> Model:
        return copy.deepcopy(self)
