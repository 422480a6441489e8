"""`keeper status` and `keeper rebalance preview` for a taxable treasury: seed 000's portfolio
(examples/tax/keeper.yaml), its lot history and balances on seed 000's assessment day."""

import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from keeper.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "examples" / "tax" / "keeper.yaml"
NOW = "1731672000"  # 2024-11-15 12:00 UTC


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network touched")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def run(*args):
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)


def row(out: str, label: str) -> str:
    return next(line for line in out.splitlines() if re.search(rf"│ {re.escape(label)}\s+│", line))


def test_status__seed000__tax_table_and_priorities_from_the_lots():
    r = run("status", "--config", str(CONFIG), "--now", NOW)
    assert r.exit_code == 0, r.output
    out = r.output.split("Tax Impact Assessment (US, USD)", 1)[1]
    # seed 000: Alt L1 12k -> 10k -17%, DeFi 8k -> 6k -25%, ETF Sector 10k -> 12k +20%
    assert re.search(r"12,000\.00 │ 10,000\.00 │ +-16\.7%", row(out, "Alt L1")), row(out, "Alt L1")
    assert "[HIGH] harvest" in row(out, "Alt L1") and "[HIGH] harvest" in row(out, "DeFi")
    assert "-25.0%" in row(out, "DeFi")
    assert "+20.0%" in row(out, "ETF Sector") and "[MED] hold" in row(out, "ETF Sector")
    assert "[LOW] regular" in row(out, "BTC/ETH")
    assert "Harvest opportunities" in out and "hold: SOXX" in out
    assert "harvesting the high-priority losses saves about 960.00 USD of tax" in out


def test_preview__seed000__each_sale_with_its_lots_and_tax_and_the_plan_total():
    r = run("rebalance", "preview", "--config", str(CONFIG), "--now", NOW)
    assert r.exit_code == 0, r.output
    out = r.output
    assert "Tax" in next(line for line in out.splitlines() if "Drift removed" in line)
    assert "Estimated Tax Impact (US, USD, lots: tax_min where allowed)" in out
    assert "arkk-1" in out and "btc-1" in out and "short term" in out and "long term" in out
    assert re.search(r"Plan tax: [\d,.]+ USD", out)
    assert "incl. estimated tax" in out


def test_preview__lots_file_missing__one_line_error(tmp_path):
    for name in ("keeper.yaml", "seed000-holdings.yaml"):
        (tmp_path / name).write_text((CONFIG.parent / name).read_text())
    r = CliRunner().invoke(
        main, ["rebalance", "preview", "--config", str(tmp_path / "keeper.yaml"), "--now", NOW]
    )
    assert r.exit_code == 2
    lines = [x for x in r.output.splitlines() if x]
    assert len(lines) == 1 and lines[0].startswith("error: tax.lots:") and "not found" in lines[0]
