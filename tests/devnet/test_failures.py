"""Bad input to the devnet: one clear line, and no anvil left behind."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from keeper.devnet import anvil as anvil_module
from keeper.devnet.anvil import anvil_binary, start_anvil
from keeper.devnet.devnet import Devnet, cache_key, cached_state
from keeper.errors import ConfigError


def anvil_pids() -> set[int]:
    """PIDs of every process running our anvil binary."""
    binary = str(anvil_binary()).encode()
    pids = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cmdline").read_bytes().split(b"\0")[0] == binary:
                    pids.add(int(proc.name))
            except OSError:
                continue
    return pids


@pytest.fixture
def private_devnet_dir(tmp_path, monkeypatch):
    """A devnet folder of this test's own, seeded with the current cache (no rebuild needed)."""
    state, _ = cached_state(rebuild=False)  # builds the shared cache if this runs first
    source = state.parent
    target = tmp_path / "devnet"
    shutil.copytree(source, target / "cache" / source.name)
    monkeypatch.setenv("KEEPER_DEVNET_DIR", str(target))
    return target


def test_anvil__node_modules_missing__says_run_make_install(monkeypatch, tmp_path):
    monkeypatch.setattr(anvil_module, "NODE_MODULES", tmp_path / "node_modules")
    with pytest.raises(ConfigError, match="make install"):
        anvil_module.anvil_binary()


def test_anvil__port_in_use__one_line_and_no_process(tmp_path):
    before = anvil_pids()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} is in use") as error:
            start_anvil(port=port, log_dir=tmp_path)
    assert "\n" not in str(error.value)
    assert anvil_pids() == before


def test_anvil__unreachable_fork_url__one_line_without_the_key(tmp_path):
    before = anvil_pids()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    url = f"http://127.0.0.1:{port}/v2/SECRET-API-KEY"
    with pytest.raises(ConfigError, match="unreachable") as error:
        start_anvil(fork_url=url, log_dir=tmp_path)
    assert "SECRET-API-KEY" not in str(error.value)
    assert "\n" not in str(error.value)
    assert anvil_pids() == before


def test_anvil__exits_at_start__reason_reported_and_no_process(tmp_path):
    before = anvil_pids()
    bad_state = tmp_path / "state.json"
    bad_state.write_text('{"not": "a state dump"}')
    with pytest.raises(ConfigError, match="anvil exited at start"):
        start_anvil(load_state=bad_state, log_dir=tmp_path)
    assert anvil_pids() == before


def test_devnet__truncated_state_cache__rebuilt(private_devnet_dir):
    state = private_devnet_dir / "cache" / cache_key() / "state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text('{"block": {"number": "0x1"')  # cut off mid-write
    with Devnet.start() as net:
        assert len(net.w3.eth.get_code(net.book.aave.pool)) > 0
    assert state.read_bytes().endswith(b"}")


def test_devnet__address_book_disagrees_with_state__rebuilt_with_warning(private_devnet_dir, caplog):
    folder = private_devnet_dir / "cache" / cache_key()
    book = json.loads((folder / "addresses.json").read_text())
    book["aave"]["pool"] = "0x" + "42" * 20
    (folder / "addresses.json").write_text(json.dumps(book))
    with caplog.at_level(logging.WARNING), Devnet.start() as net:
        assert net.book.aave.pool != "0x" + "42" * 20
    assert any("stale or corrupt" in r.message for r in caplog.records)


def run_keeper(*args, env_dir: Path, check=True) -> subprocess.CompletedProcess:
    env = os.environ | {"KEEPER_DEVNET_DIR": str(env_dir)}
    keeper = Path(sys.executable).parent / "keeper"  # the virtual environment's console script
    return subprocess.run([str(keeper), *args], env=env, capture_output=True, text=True, timeout=120, check=check)


def test_cli__devnet_up_status_down__stops_its_own_pid(private_devnet_dir):
    before = anvil_pids()
    up = run_keeper("devnet", "up", env_dir=private_devnet_dir)
    assert "devnet up at http://127.0.0.1:" in up.stdout
    record = json.loads((private_devnet_dir / "run.json").read_text())
    assert record["pid"] in anvil_pids()
    try:
        status = run_keeper("devnet", "status", env_dir=private_devnet_dir)
        assert f"pid {record['pid']}" in status.stdout and "block" in status.stdout
        again = run_keeper("devnet", "up", env_dir=private_devnet_dir, check=False)
        assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already runs" in again.stderr
    finally:
        down = run_keeper("devnet", "down", env_dir=private_devnet_dir)
    assert "stopped" in down.stdout
    assert anvil_pids() == before
    assert run_keeper("devnet", "status", env_dir=private_devnet_dir, check=False).returncode == 1


def test_cli__port_in_use__one_line_error(private_devnet_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_keeper("devnet", "up", "--port", str(port), env_dir=private_devnet_dir, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: port {port} is in use: pass another --port, or stop what listens there (`keeper devnet down`)"]
