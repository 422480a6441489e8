"""Adapter tests' fixtures: the roles' keys, an RPC client on the shared devnet, the shared data.

The chain is the session devnet of `tests/conftest.py` (rewound around every test).
"""

from __future__ import annotations

from pathlib import Path

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


@pytest.fixture(scope="session")
def node(devnet_session):
    """One `RpcClient` on the devnet for the tests' own reads (an httpx client costs ~0.2 s to make)."""
    from keeper.chain.rpc import RpcClient

    with RpcClient(devnet_session.url) as rpc:
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
