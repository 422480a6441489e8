"""The journal: intent before action, legal transitions only, durable across a killed process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from keeper import secrets
from keeper.errors import ConfigError, HaltError
from keeper.store.journal import Journal

BATCH = "0x" + "ab" * 32


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "journal.sqlite")
    yield j
    j.close()


def plan(journal, batch_id=BATCH):
    return journal.plan_batch(batch_id, chain_id=31337, contract="0x" + "11" * 20, plan={"steps": 4}, deadline=1_800_000_000)


def test_batch__full_life__every_transition_in_history(journal):
    plan(journal)
    journal.transition(BATCH, "signed", sender="0x" + "22" * 20, nonce=7, raw_tx="0xf8", tx_hash="0x" + "01" * 32)
    journal.transition(BATCH, "submitted", relay="flashbots-protect")
    journal.transition(BATCH, "signed", raw_tx="0xf9", tx_hash="0x" + "02" * 32, detail="replacement +12.5%")
    journal.transition(BATCH, "submitted")
    journal.transition(BATCH, "included", included_block=120, gas_used=300_000, effective_gas_price=10**9)
    row = journal.transition(BATCH, "confirmed", outcome={"value_before": "1", "value_after": "1"})
    assert row.status == "confirmed" and not row.is_open
    assert row.tx_hashes == ["0x" + "01" * 32, "0x" + "02" * 32]
    assert [status for _, status, _ in journal.history(BATCH)] == [
        "planned", "signed", "submitted", "signed", "submitted", "included", "confirmed",
    ]


def test_batch__same_id_planned_twice__halts(journal):
    plan(journal)
    with pytest.raises(HaltError, match="already in the journal"):
        plan(journal)


@pytest.mark.parametrize("path", [("planned", "submitted"), ("planned", "included"), ("confirmed", "failed")])
def test_batch__illegal_transition__halts(journal, path):
    plan(journal)
    if path[0] == "confirmed":
        for status in ("signed", "submitted", "included", "confirmed"):
            journal.transition(BATCH, status)
    with pytest.raises(HaltError, match="illegal transition"):
        journal.transition(BATCH, path[1])


def test_batch__open_rows__listed_for_reconciliation(journal):
    plan(journal, "0x" + "01" * 32)
    plan(journal, "0x" + "02" * 32)
    journal.transition("0x" + "02" * 32, "abandoned")
    assert [b.batch_id for b in journal.batches(open_only=True)] == ["0x" + "01" * 32]


def test_journal__killed_mid_write__committed_rows_survive(tmp_path):
    path = tmp_path / "journal.sqlite"
    script = textwrap.dedent(f"""
        import os
        from keeper.store.journal import Journal
        j = Journal({str(path)!r})
        j.plan_batch({BATCH!r}, chain_id=1, contract="0x" + "11" * 20, plan={{}}, deadline=1)
        j.transition({BATCH!r}, "signed", tx_hash="0x" + "03" * 32)
        os.kill(os.getpid(), 9)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -9
    reopened = Journal(path)
    assert reopened.batch(BATCH).status == "signed"
    assert reopened.batch(BATCH).tx_hashes == ["0x" + "03" * 32]


def test_journal__not_sqlite__one_line_config_error(tmp_path):
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="not a usable SQLite file") as error:
        Journal(path)
    assert "\n" not in str(error.value)


def test_journal__secret_in_error__redacted(journal):
    secrets.register("hunter2-very-secret")
    try:
        plan(journal)
        journal.transition(BATCH, "failed", error="relay said: bad auth hunter2-very-secret")
        journal.start_cycle("manual", "dry-run", snapshot={"note": "hunter2-very-secret"})
        assert "hunter2" not in journal.batch(BATCH).error
        assert "hunter2" not in str(journal.cycles()[0].snapshot)
    finally:
        secrets.forget_all()


def test_legs__save_load_unfinished(journal):
    journal.save_leg("plan-1", 0, "binance", "filled", True, {"plan_id": "plan-1", "leg_index": 0})
    journal.save_leg("plan-1", 1, "alpaca", "sent", False, {"plan_id": "plan-1", "leg_index": 1})
    journal.save_leg("plan-1", 1, "alpaca", "acknowledged", False, {"plan_id": "plan-1", "leg_index": 1, "ack": True})
    assert journal.load_leg("plan-1", 1) == {"plan_id": "plan-1", "leg_index": 1, "ack": True}
    assert [leg["leg_index"] for leg in journal.load_plan_legs("plan-1")] == [0, 1]
    assert journal.load_unfinished_legs() == [{"plan_id": "plan-1", "leg_index": 1, "ack": True}]


def test_cycles__decision_and_reason__recorded(journal):
    cycle = journal.start_cycle("block", "send")
    journal.finish_cycle(cycle, "defer", "gas 80 gwei over the 50 gwei cap", details={"gas_gwei": "80"})
    row = journal.cycles()[0]
    assert (row.decision, row.reason, row.details) == ("defer", "gas 80 gwei over the 50 gwei cap", {"gas_gwei": "80"})
