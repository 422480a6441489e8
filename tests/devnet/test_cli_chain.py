"""The status and preview commands against the devnet through the chain reader."""

from __future__ import annotations

from click.testing import CliRunner

from keeper.cli import main
from keeper.devnet.artifacts import REPO_ROOT

CONFIG = REPO_ROOT / "examples" / "devnet.yaml"


def test_status__devnet__drift_table_from_one_snapshot(devnet, monkeypatch):
    monkeypatch.setenv("KEEPER_RPC_DEVNET", devnet.url)
    r = CliRunner().invoke(main, ["status", "--config", str(CONFIG)])
    assert r.exit_code == 0, r.output
    assert "$90,000" in r.output and "hard limit exceeded" in r.output


def test_preview__devnet__trades_and_drift_after(devnet, monkeypatch):
    monkeypatch.setenv("KEEPER_RPC_DEVNET", devnet.url)
    r = CliRunner().invoke(main, ["rebalance", "preview", "--config", str(CONFIG)])
    assert r.exit_code == 0, r.output
    assert "Venue devnet" in r.output and "Drift after the plan" in r.output


def test_status__chain_unreachable__one_line_and_exit_2(tmp_path, monkeypatch):
    from keeper.devnet.anvil import free_port
    from keeper.devnet.devnet import cached_state

    _, book = cached_state(rebuild=False)
    config = tmp_path / "devnet.yaml"
    config.write_text(CONFIG.read_text().replace("../.devnet/addresses.json", str(book)))
    monkeypatch.setenv("KEEPER_RPC_DEVNET", f"http://127.0.0.1:{free_port()}")  # nothing listens
    r = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and r.output.startswith("error: ") and "127.0.0.1" in r.output


