"""The commands against the demo treasury, read through the static reader."""

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from keeper.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "examples" / "keeper.yaml"
HOLDINGS = REPO / "examples" / "demo-holdings.yaml"
NOW = "1717405200"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """These commands must not touch the network: any connection attempt fails the test."""

    def refuse(*a, **k):
        raise AssertionError("network touched")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def run(*args, env=None):
    return CliRunner().invoke(
        main, list(args), env={"COLUMNS": "200", **(env or {})}, catch_exceptions=False
    )


def test_status__demo_treasury__drift_table_with_statuses_and_timeline():
    r = run("status", "--config", str(CONFIG), "--static", str(HOLDINGS), "--now", NOW)
    assert r.exit_code == 0, r.output
    out = r.output
    assert "Demo treasury: $1,020,800.00" in out
    assert (
        "Core ETFs" in out and "!! soft limit exceeded" in out and "!!! hard limit exceeded" in out
    )
    assert "[!!!!] Critical" in out and "Rebalance now: SPY, USD" in out
    assert "Next scheduled rebalance (Mon 2024-06-03 09:00 America/New_York)" in out


def test_preview__demo_treasury__trades_per_venue_costs_and_drift_after():
    r = run(
        "rebalance", "preview", "--config", str(CONFIG), "--static", str(HOLDINGS), "--now", NOW
    )
    assert r.exit_code == 0, r.output
    out = r.output
    assert "Venue alpaca" in out and "Venue devnet" in out
    assert "after #0,1" in out  # the SPY buy is funded by the two sells before it
    assert "shortfall: SPY" in out and "cross-venue transfers are out of scope" in out
    assert "Drift after the plan" in out


def test_preview__off_schedule_daily_run__only_critical_items_act():
    r = run(
        "rebalance",
        "preview",
        "--config",
        str(CONFIG),
        "--static",
        str(HOLDINGS),
        "--now",
        NOW,
        "--off-schedule",
        "--cadence",
        "daily",
    )
    assert r.exit_code == 0, r.output
    # SPY and USD are past their hard limits: the urgent override trades them even on a daily run;
    # UNI is only past its soft limit: it waits for the schedule
    assert "UNI" not in r.output.split("Drift after")[0]
    assert "SPY" in r.output


def test_config_check__example__ok_and_summary():
    r = run("config", "check", "--config", str(CONFIG))
    assert r.exit_code == 0, r.output
    assert "ok" in r.output and "Venues" in r.output and "weekly or slower" in r.output


def test_config_check__bad_config__one_line_file_line_field_exit_2(tmp_path):
    bad = tmp_path / "keeper.yaml"
    bad.write_text(
        CONFIG.read_text().replace(
            "target: 15%\n        price: {feed: feed_btc_usd}",
            "target: 15\n        price: {feed: feed_btc_usd}",
        )
    )
    r = CliRunner().invoke(main, ["config", "check", "--config", str(bad)])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {bad}:") and "classes.btc_eth.assets.BTC.target" in lines[0]


def test_status__bad_config__fails_before_any_read(tmp_path):
    bad = tmp_path / "keeper.yaml"
    bad.write_text(CONFIG.read_text().replace("kind: chain", "kind: chian"))
    r = CliRunner().invoke(main, ["status", "--config", str(bad), "--static", str(HOLDINGS)])
    assert (
        r.exit_code == 2 and "venues.devnet.kind: must be one of chain, cex or broker" in r.output
    )


def test_set_target__cli__edits_and_reports(tmp_path):
    cfg = tmp_path / "keeper.yaml"
    cfg.write_text(CONFIG.read_text())
    (tmp_path / "demo-holdings.yaml").write_text(HOLDINGS.read_text())
    r = run("rebalance", "set-target", "BTC", "16%", "--take-from", "USDC", "--config", str(cfg))
    assert r.exit_code == 0, r.output
    assert "BTC: 15% -> 16%" in r.output and "USDC: 16% -> 15%" in r.output
    assert (tmp_path / "keeper.yaml.bak").exists()
    r = CliRunner().invoke(main, ["rebalance", "set-target", "BTC", "20%", "--config", str(cfg)])
    assert r.exit_code == 2 and "--take-from ASSET or --scale-others" in r.output
