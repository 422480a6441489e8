"""The BatchRebalancer as the keeper sees it: its ABI, batch building, and its log book decoded.

This module owns the Python shape of a batch (`Step`, `PostCondition`, `Batch`) and its checks
before anything is signed, the contract's flags (`StepKind`, `Role`, `AssetKind`), finding where
router calldata holds its amount (`amount_offset`, for ALL amounts), and decoding the
`StepExecuted` / `BatchExecuted` events of a receipt into plain values for the journal. It never sends a
transaction and never reads the chain: callers pass a web3 contract object or a receipt.

Units: token amounts are raw integer units; values in events are USD with 18 decimals (raw int);
bps are basis points; deadlines are unix seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from enum import IntFlag
from functools import cache
from pathlib import Path
from typing import Any

from eth_utils import is_address, to_checksum_address
from web3.logs import DISCARD

from keeper.errors import ConfigError

ABI_PATH = Path(__file__).resolve().parent / "abi" / "BatchRebalancer.json"

#: `amount_in = ALL` spends everything the contract holds of `token_in` when the step runs.
ALL = 2**256 - 1
MAX_STEPS = 16
MAX_POST_CONDITIONS = 16
MAX_ROUTER_CALLDATA = 2_048  # bytes
BPS = 10_000
VALUE_DECIMALS = 18  # the events' USD values


class StepKind(IntFlag):
    """Mirrors `IBatchRebalancer.StepKind` (Vyper flags encode as 1 << index)."""

    SWAP = 1
    VAULT_DEPOSIT = 2
    VAULT_REDEEM = 4
    AAVE_SUPPLY = 8
    AAVE_WITHDRAW = 16


class Role(IntFlag):
    """Mirrors `IBatchRebalancer.Role`."""

    KEEPER = 1
    GUARDIAN = 2


class AssetKind(IntFlag):
    """Mirrors `IBatchRebalancer.AssetKind`."""

    PLAIN = 1
    VAULT = 2
    A_TOKEN = 4


@cache
def abi() -> list[dict[str, Any]]:
    """The contract's ABI, as compiled from `contracts/BatchRebalancer.vy` (kept in sync by a test)."""
    return json.loads(ABI_PATH.read_text())


def _address(value: str, field: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ConfigError(f"{field}: {value!r} is not an address: pass a 0x-prefixed 20-byte hex address")
    return to_checksum_address(value)


def _raw(value: int, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**256:
        raise ConfigError(f"{field}: {value!r} is not a raw token amount: pass an int in 0..2**256-1 (ALL for everything)")
    return value


@dataclass(frozen=True)
class Step:
    """One step of a batch. Build with the class methods; they name the tokens for each kind."""

    kind: StepKind
    target: str
    token_in: str
    token_out: str
    amount_in: int  # raw units of token_in, or ALL
    min_out: int  # raw units of token_out, measured as a balance change
    data: bytes = b""  # router calldata (SWAP only)
    amount_offset: int = 0  # SWAP: byte offset in data where the contract writes the resolved amount

    def __post_init__(self) -> None:
        if not isinstance(self.kind, StepKind) or self.kind.bit_count() != 1:
            raise ConfigError(f"step kind {self.kind!r} is not one StepKind: use Step.swap/vault_deposit/...")
        for name in ("target", "token_in", "token_out"):
            object.__setattr__(self, name, _address(getattr(self, name), f"step.{name}"))
        if self.token_in == self.token_out:
            raise ConfigError(f"step token_in and token_out are both {self.token_in}: a step must change one asset into another")
        _raw(self.amount_in, "step.amount_in")
        _raw(self.min_out, "step.min_out")
        if self.amount_in == 0:
            raise ConfigError("step.amount_in is 0: drop the step or pass an amount (ALL for everything)")
        if len(self.data) > MAX_ROUTER_CALLDATA:
            raise ConfigError(f"step.data is {len(self.data)} bytes: router calldata may be at most {MAX_ROUTER_CALLDATA}")
        if self.kind != StepKind.SWAP and (self.data or self.amount_offset):
            raise ConfigError(f"step.data must be empty for a {self.kind.name} step: only swaps carry router calldata")
        if self.amount_offset and not 4 <= self.amount_offset <= len(self.data) - 32:
            raise ConfigError(
                f"step.amount_offset {self.amount_offset} is outside the {len(self.data)}-byte calldata: "
                "pass the byte offset of the amount-in word (>= 4), or 0"
            )
        if self.amount_in == ALL and self.kind == StepKind.SWAP and not self.amount_offset:
            raise ConfigError("step.amount_in is ALL but amount_offset is 0: the router would not see the amount; pass its offset")

    @classmethod
    def swap(
        cls, router: str, token_in: str, token_out: str, amount_in: int, min_out: int, data: bytes, amount_offset: int = 0
    ) -> Step:
        return cls(StepKind.SWAP, router, token_in, token_out, amount_in, min_out, bytes(data), amount_offset)

    @classmethod
    def vault_deposit(cls, vault: str, underlying: str, assets: int, min_shares: int) -> Step:
        return cls(StepKind.VAULT_DEPOSIT, vault, underlying, vault, assets, min_shares)

    @classmethod
    def vault_redeem(cls, vault: str, underlying: str, shares: int, min_assets: int) -> Step:
        return cls(StepKind.VAULT_REDEEM, vault, vault, underlying, shares, min_assets)

    @classmethod
    def aave_supply(cls, pool: str, underlying: str, a_token: str, amount: int, min_a_tokens: int) -> Step:
        return cls(StepKind.AAVE_SUPPLY, pool, underlying, a_token, amount, min_a_tokens)

    @classmethod
    def aave_withdraw(cls, pool: str, a_token: str, underlying: str, amount: int, min_out: int) -> Step:
        return cls(StepKind.AAVE_WITHDRAW, pool, a_token, underlying, amount, min_out)

    def as_abi(self) -> tuple:
        return (
            int(self.kind), self.target, self.token_in, self.token_out,
            self.amount_in, self.min_out, self.amount_offset, self.data,
        )


def amount_offset(calldata: bytes, amount_in: int) -> int:
    """Byte offset of the one 32-byte word in router `calldata` that holds `amount_in`.

    A step whose amount is ALL (or the output of an earlier step) needs it: the contract writes
    the amount it resolves at run time into that word. Build the calldata with any placeholder
    amount that appears exactly once (the quote's amount does), and pass the offset found here.
    """
    word = amount_in.to_bytes(32, "big")
    found = [i for i in range(4, len(calldata) - 31) if calldata[i : i + 32] == word and (i - 4) % 32 == 0]
    if len(found) != 1:
        raise ConfigError(
            f"router calldata holds the amount {amount_in} in {len(found)} words: "
            "build it with a placeholder amount that appears exactly once"
        )
    return found[0]


@dataclass(frozen=True)
class PostCondition:
    """After every step: the contract holds at least `min_balance` raw units of `token`."""

    token: str
    min_balance: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "token", _address(self.token, "post_condition.token"))
        _raw(self.min_balance, "post_condition.min_balance")

    def as_abi(self) -> tuple:
        return (self.token, self.min_balance)


@dataclass(frozen=True)
class Batch:
    """What the keeper signs: an id (strictly above every id run before), a deadline, steps."""

    batch_id: int
    deadline: int  # unix seconds
    steps: tuple[Step, ...]
    post_conditions: tuple[PostCondition, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.batch_id, int) or not 0 < self.batch_id < 2**256:
            raise ConfigError(f"batch_id {self.batch_id!r}: pass a positive int above the contract's last_batch_id")
        if not isinstance(self.deadline, int) or self.deadline <= 0:
            raise ConfigError(f"deadline {self.deadline!r}: pass unix seconds")
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "post_conditions", tuple(self.post_conditions))
        if not 0 < len(self.steps) <= MAX_STEPS:
            raise ConfigError(f"a batch has {len(self.steps)} steps: pass 1..{MAX_STEPS} (split larger rebalances)")
        if len(self.post_conditions) > MAX_POST_CONDITIONS:
            raise ConfigError(f"a batch has {len(self.post_conditions)} post-conditions: at most {MAX_POST_CONDITIONS}")

    def args(self) -> tuple:
        """Arguments of `execute`, in ABI order."""
        return (
            self.batch_id,
            self.deadline,
            [s.as_abi() for s in self.steps],
            [p.as_abi() for p in self.post_conditions],
        )


@dataclass(frozen=True)
class StepResult:
    index: int
    kind: StepKind
    target: str
    token_in: str
    token_out: str
    spent: int  # raw units of token_in, measured
    received: int  # raw units of token_out, measured


@dataclass(frozen=True)
class BatchResult:
    batch_id: int
    steps: tuple[StepResult, ...]
    value_before: Decimal  # USD
    value_after: Decimal  # USD
    value_sold: Decimal  # USD
    gas_left: int

    @property
    def loss_bps(self) -> Decimal:
        """The loss as bps of the value sold (0 when nothing was sold or value grew)."""
        if self.value_sold == 0 or self.value_after >= self.value_before:
            return Decimal(0)
        return (self.value_before - self.value_after) * BPS / self.value_sold


def decode_batch(contract: Any, receipt: Any) -> BatchResult:
    """The batch this receipt executed, from the contract's events (web3 `Contract`, receipt)."""
    unit = Decimal(10) ** VALUE_DECIMALS
    receipt = _own_logs(contract, receipt)
    steps = [
        StepResult(
            index=e.args.index, kind=StepKind(e.args.kind), target=e.args.target,
            token_in=e.args.token_in, token_out=e.args.token_out,
            spent=e.args.spent, received=e.args.received,
        )
        for e in contract.events.StepExecuted().process_receipt(receipt, errors=DISCARD)
    ]
    batches = contract.events.BatchExecuted().process_receipt(receipt, errors=DISCARD)
    if len(batches) != 1:
        raise ValueError(f"receipt holds {len(batches)} BatchExecuted events from {contract.address}: expected one")
    b = batches[0].args
    return BatchResult(
        batch_id=b.batch_id, steps=tuple(steps),
        value_before=Decimal(b.value_before) / unit, value_after=Decimal(b.value_after) / unit,
        value_sold=Decimal(b.value_sold) / unit, gas_left=b.gas_left,
    )


def _own_logs(contract: Any, receipt: Any) -> dict:
    """The receipt with only this contract's logs (another contract may emit a same-named event)."""
    logs = [log for log in receipt["logs"] if to_checksum_address(log["address"]) == contract.address]
    return {**dict(receipt), "logs": logs}
