"""`keeper devnet up|down|status|venues`: the local mainnet-in-a-box, for people.

`up` starts anvil detached from the cached state (or a fork with `--fork-url`) and records its PID,
URL and address book in `.devnet/run.json`; `down` stops exactly that PID; `status` says what runs.
`venues` runs the local exchange and broker servers in the foreground and writes the environment
that points keeper.yaml's venues at them.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from keeper.cli._common import console as shared_console
from keeper.devnet.anvil import pid_alive, rpc_request
from keeper.devnet.devnet import Devnet, devnet_dir
from keeper.errors import ConfigError
from keeper.secrets import safe_url

if TYPE_CHECKING:
    from keeper.devnet.exchanges import LocalVenues

console = shared_console()


def run_record() -> Path:
    return devnet_dir() / "run.json"


def _read_record() -> dict | None:
    path = run_record()
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        path.unlink()
        return None


def _is_our_anvil(pid: int) -> bool:
    """True when `pid` is alive and is an anvil (PIDs get reused; never signal a stranger)."""
    if not pid_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    return not cmdline.exists() or b"anvil" in cmdline.read_bytes()


@click.group()
def devnet() -> None:
    """The local devnet: anvil with Uniswap, Aave, ERC-4626 vaults and the demo treasury."""


@devnet.command()
@click.option("--port", type=int, default=None, help="Loopback port (default: a free one).")
@click.option("--fork-url", default=None, help="Fork this chain's RPC instead of deploying the devnet.")
@click.option("--fork-block", type=int, default=None, help="Block to fork at (default: latest).")
@click.option("--rebuild", is_flag=True, help="Redeploy from scratch instead of using the cached state.")
def up(port: int | None, fork_url: str | None, fork_block: int | None, rebuild: bool) -> None:
    """Start the devnet in the background."""
    record = _read_record()
    if record and _is_our_anvil(record["pid"]):
        raise ConfigError(f"a devnet already runs at {record['url']} (pid {record['pid']}): `keeper devnet down` first")
    started = time.monotonic()
    net = Devnet.start(port=port, fork_url=fork_url, fork_block=fork_block, rebuild=rebuild, detach=True)
    book_path = None
    if net.book is not None:
        book_path = devnet_dir() / "addresses.json"
        net.book.save(book_path)
    record = {
        "pid": net.anvil.pid,
        "url": net.url,
        "chain_id": net.anvil.chain_id,
        "fork": safe_url(fork_url) if fork_url else None,
        "address_book": str(book_path) if book_path else None,
        "log": str(net.anvil.log_path),
        "started_at": time.time(),
    }
    run_record().write_text(json.dumps(record, indent=2))
    console.print(f"devnet up at [bold]{net.url}[/] (chain {record['chain_id']}, pid {record['pid']}) in {time.monotonic() - started:.2f} s")
    if book_path:
        console.print(f"address book: {book_path}")
    if fork_url:
        console.print(f"forking {record['fork']}")


@devnet.command()
def down() -> None:
    """Stop the devnet that `up` started."""
    record = _read_record()
    if record is None:
        console.print("no devnet is running")
        return
    pid = record["pid"]
    if _is_our_anvil(pid):
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not pid_alive(pid):
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
    run_record().unlink(missing_ok=True)
    console.print(f"devnet at {record['url']} stopped (pid {pid})")


@devnet.command()
def status() -> None:
    """Is a devnet running, where, and at which block."""
    record = _read_record()
    if record is None or not _is_our_anvil(record["pid"]):
        console.print("no devnet is running (`keeper devnet up` starts one)")
        if record is not None:
            run_record().unlink(missing_ok=True)
        raise SystemExit(1)
    try:
        block = int(rpc_request(record["url"], "eth_blockNumber"), 16)
    except OSError as e:
        raise ConfigError(f"devnet pid {record['pid']} does not answer at {record['url']} ({e}): `keeper devnet down` and up again") from None
    console.print(f"devnet running at [bold]{record['url']}[/] (chain {record['chain_id']}, pid {record['pid']}), block {block}")
    if record.get("fork"):
        console.print(f"forking {record['fork']}")
    if record.get("address_book"):
        console.print(f"address book: {record['address_book']}")


def venues_env(local: LocalVenues) -> dict[str, str]:
    """The environment that points the example config's venues at running local servers: base
    URLs and the throwaway keys of this run (good only against these servers)."""
    return {
        "BINANCE_BASE_URL": local.binance.url,
        "BINANCE_API_KEY": local.binance_key,
        "BINANCE_API_SECRET": local.binance_secret,
        "OKX_BASE_URL": local.okx.url,
        "OKX_API_KEY": local.okx_key,
        "OKX_API_SECRET": local.okx_secret,
        "OKX_API_PASSPHRASE": local.okx_passphrase,
        "ALPACA_BASE_URL": local.alpaca.url,
        "ALPACA_API_KEY": local.alpaca_key,
        "ALPACA_API_SECRET": local.alpaca_secret,
        "IBKR_BASE_URL": local.ibkr_api_url,
    }


@devnet.command()
@click.option("--env-file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Where to write the environment (default: .devnet/venues.env).")
@click.option("--exit-after", type=float, default=None, hidden=True, help="Stop after this many seconds (tests).")
def venues(env_file: Path | None, exit_after: float | None) -> None:
    """Run local Binance, OKX, Alpaca and IBKR servers until Ctrl-C.

    Their URLs and this run's throwaway keys go to .devnet/venues.env: `source` it in another
    shell, then `keeper status` reads binance and alpaca from these servers.
    """
    from keeper.devnet.exchanges import LocalVenues

    with LocalVenues() as local:
        path = env_file or devnet_dir() / "venues.env"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text("".join(f"export {k}={v}\n" for k, v in venues_env(local).items()))
        console.print(f"binance {local.binance.url}, okx {local.okx.url}, alpaca {local.alpaca.url}, ibkr {local.ibkr_api_url}")
        console.print(f"environment for them: [bold]source {path}[/] (throwaway keys, valid only here); Ctrl-C stops them")
        try:
            deadline = None if exit_after is None else time.monotonic() + exit_after
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            path.unlink(missing_ok=True)
    console.print("local venues stopped")
