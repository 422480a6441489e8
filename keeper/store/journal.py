"""The journal: every cycle's decision, every batch's life, every venue leg's state, in SQLite.

What it guarantees:
- **Intent before action.** A batch row is written (status `planned`) and committed before its
  transaction is signed; every later step is a committed transition. A crash at any point leaves
  rows that say exactly how far the keeper got, so a restart reconciles instead of repeating.
- **Legal transitions only.** Status changes follow `BATCH_TRANSITIONS`; anything else raises.
  Each transition is also appended to `batch_history`, so the journal is an audit log, not just
  the latest state.
- **Durability.** WAL mode with `synchronous=FULL`: a committed row survives the process being
  killed and the machine losing power.
- **No secrets.** The journal stores what the chain and venues saw (transactions, hashes, fills),
  never keys or passwords; `keeper.secrets.redact` scrubs every free-text field on the way in.

The schema is plain SQL (TEXT/INTEGER, JSON in TEXT columns), so PostgreSQL can hold it too.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keeper.errors import ConfigError, HaltError
from keeper.secrets import redact

SCHEMA_VERSION = 1

BATCH_STATUSES = ("planned", "signed", "submitted", "included", "confirmed", "failed", "abandoned")
OPEN_BATCH_STATUSES = ("planned", "signed", "submitted", "included")
BATCH_TRANSITIONS: dict[str, tuple[str, ...]] = {
    # planned: intent recorded, nothing signed; abandoned if the keeper decides not to send after all
    "planned": ("signed", "failed", "abandoned"),
    # signed: raw tx (and its hash) recorded before it is handed to a relay
    "signed": ("submitted", "signed", "included", "failed", "abandoned"),
    # submitted: a relay accepted it; `signed` again when a replacement is signed
    "submitted": ("submitted", "signed", "included", "failed", "abandoned"),
    # included: in a block; confirmed after N more; back to submitted on a reorg
    "included": ("confirmed", "submitted", "failed"),
    "confirmed": (),
    "failed": (),
    "abandoned": (),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cycles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,
    trigger TEXT NOT NULL,             -- block, schedule, manual
    mode TEXT NOT NULL,                -- dry-run or send
    decision TEXT,                     -- act, defer, no-action, error
    reason TEXT,                       -- one line: what it gains, what it costs, why (not) now
    snapshot TEXT,                     -- JSON: positions, prices, blocks
    details TEXT                       -- JSON: signals, plan summary, costs
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,         -- 0x + 64 hex: the id the contract refuses twice
    cycle_id INTEGER REFERENCES cycles(id),
    chain_id INTEGER NOT NULL,
    contract TEXT NOT NULL,
    status TEXT NOT NULL,
    plan TEXT NOT NULL,                -- JSON: the legs and steps as built
    deadline INTEGER NOT NULL,         -- unix seconds; the contract refuses the batch after it
    sender TEXT,
    nonce INTEGER,
    relay TEXT,
    tx_hashes TEXT NOT NULL DEFAULT '[]',  -- JSON list: every signed attempt, newest last
    raw_tx TEXT,                       -- the newest signed transaction (public once sent)
    included_block INTEGER,
    gas_used INTEGER,
    effective_gas_price INTEGER,
    outcome TEXT,                      -- JSON: the contract's decoded events
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_status ON batches(status);
CREATE TABLE IF NOT EXISTS batch_history (
    batch_id TEXT NOT NULL REFERENCES batches(batch_id),
    at REAL NOT NULL,
    status TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS legs (
    plan_id TEXT NOT NULL,
    leg_index INTEGER NOT NULL,
    venue TEXT NOT NULL,
    status TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    state TEXT NOT NULL,               -- JSON of the venue leg's full state
    updated_at REAL NOT NULL,
    PRIMARY KEY (plan_id, leg_index)
);
CREATE INDEX IF NOT EXISTS legs_open ON legs(terminal);
CREATE TABLE IF NOT EXISTS observations (
    kind TEXT NOT NULL,                -- e.g. erc4626_share_price
    subject TEXT NOT NULL,             -- e.g. the vault address
    at INTEGER NOT NULL,               -- unix seconds of the block read
    block INTEGER,
    value TEXT NOT NULL,               -- exact decimal or integer, as text
    PRIMARY KEY (kind, subject, at)
);
"""


@dataclass(frozen=True)
class BatchRow:
    batch_id: str
    cycle_id: int | None
    chain_id: int
    contract: str
    status: str
    plan: dict[str, Any]
    deadline: int
    sender: str | None
    nonce: int | None
    relay: str | None
    tx_hashes: list[str]
    raw_tx: str | None
    included_block: int | None
    gas_used: int | None
    effective_gas_price: int | None
    outcome: dict[str, Any] | None
    error: str | None
    created_at: float
    updated_at: float

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_BATCH_STATUSES


@dataclass(frozen=True)
class CycleRow:
    id: int
    started_at: float
    finished_at: float | None
    trigger: str
    mode: str
    decision: str | None
    reason: str | None
    snapshot: dict[str, Any] | None
    details: dict[str, Any] | None


class Journal:
    """The keeper's journal in one SQLite file. Safe to share between threads of one process."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise ConfigError(f"journal {self.path}: not a usable SQLite file ({e}): move it aside or pass another --journal") from e
        self._lock = threading.RLock()
        version = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if version is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(version[0]) > SCHEMA_VERSION:
            raise ConfigError(f"journal {self.path} was written by a newer keeper (schema {version[0]}): upgrade the keeper")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- cycles ------------------------------------------------------------------------------
    def start_cycle(self, trigger: str, mode: str, snapshot: dict | None = None) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO cycles (started_at, trigger, mode, snapshot) VALUES (?, ?, ?, ?)",
                (time.time(), trigger, mode, _json(snapshot)),
            )
            return int(cursor.lastrowid)

    def finish_cycle(self, cycle_id: int, decision: str, reason: str, *, snapshot: dict | None = None, details: dict | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE cycles SET finished_at=?, decision=?, reason=?, snapshot=COALESCE(?, snapshot), details=? WHERE id=?",
                (time.time(), decision, redact(reason), _json(snapshot), _json(details), cycle_id),
            )

    def cycles(self, limit: int = 50) -> list[CycleRow]:
        rows = self._db.execute("SELECT * FROM cycles ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [
            CycleRow(r["id"], r["started_at"], r["finished_at"], r["trigger"], r["mode"], r["decision"], r["reason"],
                     _load(r["snapshot"]), _load(r["details"]))
            for r in rows
        ]

    # -- batches -----------------------------------------------------------------------------
    def plan_batch(self, batch_id: str, *, chain_id: int, contract: str, plan: dict, deadline: int, cycle_id: int | None = None) -> BatchRow:
        """Record the intent to send batch `batch_id` (status `planned`) before anything is signed."""
        now = time.time()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM batches WHERE batch_id=?", (batch_id,)).fetchone():
                raise HaltError(f"batch id {batch_id} is already in the journal: refusing to plan it twice")
            db.execute(
                "INSERT INTO batches (batch_id, cycle_id, chain_id, contract, status, plan, deadline, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'planned', ?, ?, ?, ?)",
                (batch_id, cycle_id, chain_id, contract, _json(plan), deadline, now, now),
            )
            db.execute("INSERT INTO batch_history VALUES (?, ?, 'planned', NULL)", (batch_id, now))
        return self.batch(batch_id)

    def transition(self, batch_id: str, status: str, *, detail: str | None = None, **fields: Any) -> BatchRow:
        """Move a batch to `status`, updating `fields` (sender, nonce, relay, raw_tx, tx_hash,
        included_block, gas_used, effective_gas_price, outcome, error) in the same commit."""
        if status not in BATCH_STATUSES:
            raise ValueError(f"unknown batch status {status!r}")
        allowed = {"sender", "nonce", "relay", "raw_tx", "tx_hash", "included_block", "gas_used", "effective_gas_price", "outcome", "error"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown batch fields: {', '.join(sorted(unknown))}")
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT status, tx_hashes FROM batches WHERE batch_id=?", (batch_id,)).fetchone()
            if row is None:
                raise KeyError(f"no batch {batch_id} in the journal")
            if status not in BATCH_TRANSITIONS[row["status"]] and status != row["status"]:
                raise HaltError(f"batch {batch_id}: illegal transition {row['status']} -> {status}")
            updates: dict[str, Any] = {"status": status, "updated_at": now}
            hashes = json.loads(row["tx_hashes"])
            tx_hash = fields.pop("tx_hash", None)
            if tx_hash and tx_hash not in hashes:
                hashes.append(tx_hash)
                updates["tx_hashes"] = json.dumps(hashes)
            for key, value in fields.items():
                if key == "outcome":
                    value = _json(value)
                elif key == "error" and value is not None:
                    value = redact(str(value))
                updates[key] = value
            assignments = ", ".join(f"{k}=?" for k in updates)
            db.execute(f"UPDATE batches SET {assignments} WHERE batch_id=?", (*updates.values(), batch_id))  # noqa: S608 - keys are from a fixed set
            db.execute("INSERT INTO batch_history VALUES (?, ?, ?, ?)", (batch_id, now, status, redact(detail) if detail else None))
        return self.batch(batch_id)

    def batch(self, batch_id: str) -> BatchRow:
        row = self._db.execute("SELECT * FROM batches WHERE batch_id=?", (batch_id,)).fetchone()
        if row is None:
            raise KeyError(f"no batch {batch_id} in the journal")
        return _batch_row(row)

    def batches(self, *, open_only: bool = False, limit: int = 100) -> list[BatchRow]:
        if open_only:
            marks = ",".join("?" * len(OPEN_BATCH_STATUSES))
            rows = self._db.execute(f"SELECT * FROM batches WHERE status IN ({marks}) ORDER BY created_at", OPEN_BATCH_STATUSES).fetchall()  # noqa: S608
        else:
            rows = self._db.execute("SELECT * FROM batches ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        return [_batch_row(r) for r in rows]

    def history(self, batch_id: str) -> list[tuple[float, str, str | None]]:
        rows = self._db.execute("SELECT at, status, detail FROM batch_history WHERE batch_id=? ORDER BY rowid", (batch_id,)).fetchall()
        return [(r["at"], r["status"], r["detail"]) for r in rows]

    # -- venue legs (implements keeper.venues' LegStore on rows of JSON) -----------------------
    def save_leg(self, plan_id: str, leg_index: int, venue: str, status: str, terminal: bool, state: dict) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO legs VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(plan_id, leg_index) DO UPDATE SET"
                " venue=excluded.venue, status=excluded.status, terminal=excluded.terminal, state=excluded.state, updated_at=excluded.updated_at",
                (plan_id, leg_index, venue, status, int(terminal), _json(state), time.time()),
            )

    def load_leg(self, plan_id: str, leg_index: int) -> dict | None:
        row = self._db.execute("SELECT state FROM legs WHERE plan_id=? AND leg_index=?", (plan_id, leg_index)).fetchone()
        return None if row is None else json.loads(row["state"])

    def load_plan_legs(self, plan_id: str) -> list[dict]:
        rows = self._db.execute("SELECT state FROM legs WHERE plan_id=? ORDER BY leg_index", (plan_id,)).fetchall()
        return [json.loads(r["state"]) for r in rows]

    def load_unfinished_legs(self) -> list[dict]:
        rows = self._db.execute("SELECT state FROM legs WHERE terminal=0 ORDER BY plan_id, leg_index").fetchall()
        return [json.loads(r["state"]) for r in rows]

    def legs(self, limit: int = 200) -> list[dict]:
        rows = self._db.execute("SELECT * FROM legs ORDER BY updated_at DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) | {"state": json.loads(r["state"])} for r in rows]

    # -- observations (e.g. ERC-4626 share prices for realised APY) ----------------------------
    def observe(self, kind: str, subject: str, at: int, value: str, block: int | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO observations VALUES (?, ?, ?, ?, ?)", (kind, subject, at, block, value))

    def observations(self, kind: str, subject: str, since: int = 0) -> list[tuple[int, str]]:
        rows = self._db.execute(
            "SELECT at, value FROM observations WHERE kind=? AND subject=? AND at>=? ORDER BY at", (kind, subject, since)
        ).fetchall()
        return [(r["at"], r["value"]) for r in rows]


def _json(value: Any) -> str | None:
    return None if value is None else redact(json.dumps(value, sort_keys=True, default=str))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _batch_row(row: sqlite3.Row) -> BatchRow:
    return BatchRow(
        batch_id=row["batch_id"], cycle_id=row["cycle_id"], chain_id=row["chain_id"], contract=row["contract"],
        status=row["status"], plan=json.loads(row["plan"]), deadline=row["deadline"], sender=row["sender"],
        nonce=row["nonce"], relay=row["relay"], tx_hashes=json.loads(row["tx_hashes"]), raw_tx=row["raw_tx"],
        included_block=row["included_block"], gas_used=row["gas_used"], effective_gas_price=row["effective_gas_price"],
        outcome=_load(row["outcome"]), error=row["error"], created_at=row["created_at"], updated_at=row["updated_at"],
    )
