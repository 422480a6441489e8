"""Adapter tests' fixtures: a bare anvil started here (temporary: the lead swaps in the shared
devnet fixture), and the roles' keys.

The anvil binary comes from npm (`make install`); without it the chain tests skip with the reason.
`devnet` wraps each test in `evm_snapshot`/`evm_revert` and puts automine back on afterwards, since
the local relay turns it off while it runs.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from keeper import secrets

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"

# anvil's well-known development keys (public knowledge; they hold test ether only).
DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
)


@dataclass(frozen=True)
class Devnet:
    url: str
    chain_id: int
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30), repr=False)

    def rpc(self, method: str, *params: object) -> object:
        body = self.client.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        ).json()
        if "error" in body:
            raise AssertionError(f"{method}: {body['error']}")
        return body["result"]

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.rpc("evm_mine")

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)


def _anvil_binary() -> Path | None:
    found = sorted((REPO_ROOT / "node_modules" / "@foundry-rs").glob("anvil-linux-*/bin/anvil"))
    return found[0] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def anvil_node():
    binary = _anvil_binary()
    if binary is None:
        pytest.skip(
            "anvil is not installed: run `make install` (it comes from npm @foundry-rs/anvil)"
        )
    port = _free_port()
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    node = Devnet(f"http://127.0.0.1:{port}", 31337)
    try:
        for _ in range(100):
            try:
                node.rpc("eth_chainId")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            pytest.fail("anvil did not answer within 5 s")
        yield node
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def devnet(anvil_node):
    snapshot = anvil_node.rpc("evm_snapshot")
    next_base_fee = anvil_node.rpc("eth_feeHistory", "0x1", "latest", [])["baseFeePerGas"][-1]
    yield anvil_node
    anvil_node.rpc("evm_setAutomine", True)
    anvil_node.rpc("evm_revert", snapshot)
    # evm_revert does not restore anvil's base-fee tracker: put the next base fee back too
    anvil_node.rpc("anvil_setNextBlockBaseFeePerGas", next_base_fee)


@pytest.fixture(scope="session")
def node(anvil_node):
    """One `RpcClient` on the devnet for the tests' own reads (an httpx client costs ~0.2 s to make)."""
    from keeper.chain.rpc import RpcClient

    with RpcClient(anvil_node.url) as rpc:
        yield rpc


@pytest.fixture
def keeper():
    """The keeper's hot key (anvil account 1)."""
    return Account.from_key(DEV_KEYS[1])


@pytest.fixture
def stranger():
    return Account.from_key(DEV_KEYS[2])


@pytest.fixture
def reputation():
    """A Flashbots reputation key: signs request bodies, holds no funds."""
    return Account.from_key(DEV_KEYS[3])


@pytest.fixture
def keeper_signer(keeper, tmp_path, monkeypatch):
    """The keeper's signer the production way: an encrypted keystore, password from the environment."""
    import json

    from keeper.execution.signer import PASSWORD_ENV, KeystoreSigner

    path = tmp_path / "keeper-keystore.json"
    path.write_text(
        json.dumps(Account.encrypt(keeper.key, "keeper-test-password", iterations=2**10))
    )
    monkeypatch.setenv(PASSWORD_ENV, "keeper-test-password")
    return KeystoreSigner.from_keystore(path)


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"the shared reference data is absent ({SHARED_DATA.resolve()}); it lives beside the repo"
        )
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _clean_secret_registry():
    yield
    secrets.forget_all()
