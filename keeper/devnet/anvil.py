"""The anvil process: find the binary npm installed, start it on a loopback port, stop it by PID.

anvil comes from npm (`@foundry-rs/anvil`, pinned in package.json). We start the platform binary
itself, not the `bin.mjs` wrapper, so the PID we hold is anvil's and stopping it leaves no stray
process. Every failure to start says what is wrong and how to fix it in one line.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from keeper.devnet.artifacts import NODE_MODULES
from keeper.errors import ConfigError
from keeper.secrets import safe_url

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_CHAIN_ID = 31337
# anvil's well-known test mnemonic: its keys are public; never use them outside a devnet.
TEST_MNEMONIC = "test test test test test test test test test test test junk"

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_OS = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}


def anvil_binary() -> Path:
    """Path of the anvil binary for this platform, from node_modules."""
    system, machine = platform.system(), platform.machine().lower()
    if system not in _OS or machine not in _ARCH:
        raise ConfigError(f"anvil is not published for {system}/{machine}: run on Linux or macOS (x86_64/arm64)")
    name = "anvil.exe" if system == "Windows" else "anvil"
    path = NODE_MODULES / "@foundry-rs" / f"anvil-{_OS[system]}-{_ARCH[machine]}" / "bin" / name
    if not path.is_file():
        hint = "run `make install`" if shutil.which("npm") else "install Node.js 20+ with npm, then run `make install`"
        raise ConfigError(f"anvil not found at {path.relative_to(NODE_MODULES.parent)}: {hint}")
    return path


def free_port() -> int:
    """A loopback port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((LOOPBACK, port)) == 0


def rpc_request(url: str, method: str, params: list | None = None, timeout: float = 5.0):
    """One JSON-RPC call with the standard library (used before web3 is worth creating)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error'].get('message', reply['error'])}")
    return reply["result"]


def check_fork_url(url: str, timeout: float = 10.0) -> int:
    """Chain id of `url`, or a one-line ConfigError saying why it cannot be forked."""
    shown = safe_url(url)
    if urlsplit(url).scheme not in ("http", "https", "ws", "wss"):
        raise ConfigError(f"--fork-url {shown}: not an http(s) or ws(s) URL: pass the RPC URL of the chain to fork")
    try:
        return int(rpc_request(url, "eth_chainId", timeout=timeout), 16)
    except (urllib.error.URLError, OSError, TimeoutError, ValueError, RuntimeError) as e:
        reason = getattr(e, "reason", e)
        raise ConfigError(
            f"--fork-url {shown} is unreachable ({type(reason).__name__}): check the URL, your network and the provider's key"
        ) from None


@dataclass
class AnvilProcess:
    """A running anvil. Stop it with `stop()`; it is also a context manager."""

    process: subprocess.Popen
    port: int
    log_path: Path
    fork_url: str | None = None
    chain_id: int = DEFAULT_CHAIN_ID
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate anvil by its own PID and wait for it; kill it if it does not go."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> AnvilProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_anvil(
    *,
    port: int | None = None,
    load_state: Path | None = None,
    fork_url: str | None = None,
    fork_block: int | None = None,
    chain_id: int | None = None,
    log_dir: Path,
    accounts: int = 10,
    balance_eth: int = 10_000_000,
    extra_args: tuple[str, ...] = (),
    startup_timeout: float = 30.0,
    detach: bool = False,
) -> AnvilProcess:
    """Start anvil on a loopback port and wait until it answers JSON-RPC.

    `port=None` picks a free port. `detach=True` starts it in its own session so it outlives this
    process (for `keeper devnet up`); otherwise it is a child we stop ourselves.
    """
    binary = anvil_binary()
    if port is not None and port_in_use(port):
        raise ConfigError(f"port {port} is in use: pass another --port, or stop what listens there (`keeper devnet down`)")
    if fork_url:
        check_fork_url(fork_url)
    chosen = port or free_port()
    args = [
        str(binary), "--host", LOOPBACK, "--port", str(chosen),
        "--accounts", str(accounts), "--balance", str(balance_eth), "--mnemonic", TEST_MNEMONIC,
        "--code-size-limit", str(0x10000),
    ]
    if fork_url:
        args += ["--fork-url", fork_url]
        if fork_block is not None:
            args += ["--fork-block-number", str(fork_block)]
    else:
        args += ["--chain-id", str(chain_id or DEFAULT_CHAIN_ID)]
    if load_state is not None:
        args += ["--load-state", str(load_state)]
    args += list(extra_args)

    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"anvil-{chosen}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            args, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=detach,
        )
    anvil = AnvilProcess(process, chosen, log_path, fork_url)
    try:
        anvil.chain_id = _wait_ready(anvil, startup_timeout)
    except BaseException:
        anvil.stop()
        raise
    log.info("anvil pid %s on %s (chain %s)", anvil.pid, anvil.url, anvil.chain_id)
    return anvil


def _wait_ready(anvil: AnvilProcess, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        if anvil.process.poll() is not None:
            raise ConfigError(f"anvil exited at start: {_last_error_line(anvil.log_path)}")
        try:
            return int(rpc_request(anvil.url, "eth_chainId", timeout=1.0), 16)
        except (urllib.error.URLError, OSError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise ConfigError(f"anvil did not answer within {timeout:.0f}s: see {anvil.log_path}")
        time.sleep(0.02)


def _last_error_line(log_path: Path) -> str:
    """The most telling line of anvil's output, with any URL reduced to its host."""
    try:
        lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no output"
    if not lines:
        return "no output"
    errors = [line for line in lines if "error" in line.lower()] or lines
    line = errors[-1]
    for word in line.split():
        if "://" in word:
            line = line.replace(word, safe_url(word.strip("\"'(),")))
    return line[:300]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
