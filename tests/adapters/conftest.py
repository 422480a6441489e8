"""Adapter tests' fixtures: the roles' keys, an RPC client on the shared devnet, the shared data,
and local venue servers (exchanges and brokers) on free loopback ports, reset per test.

The chain is the session devnet of `tests/conftest.py` (rewound around every test).
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from eth_account import Account

from keeper import secrets
from keeper.devnet.exchanges import crypto_engine
from keeper.devnet.exchanges.binance import start_binance
from keeper.venues.cex import CcxtVenue

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"

def dev_account(index: int):
    """anvil's development account `index` (the public test mnemonic: test ether only)."""
    from keeper.devnet.anvil import TEST_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


# Accounts the devnet recipe never uses (spare1..3): their nonces start at 0 in every test.
KEEPER_INDEX, STRANGER_INDEX, REPUTATION_INDEX = 7, 8, 9


@pytest.fixture(scope="session")
def node(devnet_session):
    """One `RpcClient` on the devnet for the tests' own reads (an httpx client costs ~0.2 s to make)."""
    from keeper.chain.rpc import RpcClient

    with RpcClient(devnet_session.url) as rpc:
        yield rpc


@pytest.fixture
def keeper():
    """The keeper's hot key (an anvil account with no history)."""
    return dev_account(KEEPER_INDEX)


@pytest.fixture
def stranger():
    return dev_account(STRANGER_INDEX)


@pytest.fixture
def reputation():
    """A Flashbots reputation key: signs request bodies, holds no funds."""
    return dev_account(REPUTATION_INDEX)


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


API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"



def api_sample(name: str) -> dict:
    """A real payload from ../shared/data/api-samples, or skip with the reason."""
    import json

    path = SHARED_DATA / "api-samples" / name
    if not path.exists():
        pytest.skip(f"reference payload {path} is absent (the shared data folder is not mounted)")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def binance_server():
    server = start_binance(crypto_engine(), {API_KEY: SECRET})
    yield server
    server.stop()


@pytest.fixture
def binance(binance_server):
    """The server reset to its initial state; returns a factory of keeper venues pointed at it.

    Build venues inside the test's event loop (`async with binance() as venue:`): a ccxt
    exchange binds its HTTP session to the loop that first uses it.
    """
    binance_server.reset()

    def make(**kwargs) -> CcxtVenue:
        options = {"api_key": API_KEY, "secret": SECRET, "timeout_ms": 2_000, **kwargs}
        return CcxtVenue("binance", base_url=binance_server.url, **options)

    return make


ALPACA_KEY = "PKTESTKEYID0123456789"
ALPACA_SECRET = "alpacaSecretKey0123456789abcdefghijklmnopq"


@pytest.fixture(scope="module")
def alpaca_server():
    from keeper.devnet.exchanges import equity_engine
    from keeper.devnet.exchanges.alpaca import start_alpaca

    server = start_alpaca(equity_engine(), ALPACA_KEY, ALPACA_SECRET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ibkr_server():
    from keeper.devnet.exchanges import equity_engine
    from keeper.devnet.exchanges.ibkr import start_ibkr

    server = start_ibkr(equity_engine(commission_rate="0.0005"))
    yield server
    server.stop()


def open_hours():
    """XNYS hours pinned to a Monday 10:00 New York time."""
    from datetime import datetime

    from keeper.venues.hours import MarketHours

    return MarketHours("XNYS", now=lambda: datetime(2026, 11, 23, 15, 0, tzinfo=UTC))


OKX_KEY = "okx-key-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"
OKX_SECRET = "OKXSECRET0123456789ABCDEF0123456789"
OKX_PASSPHRASE = "keeper-passphrase-01"


@pytest.fixture(scope="module")
def okx_server():
    from keeper.devnet.exchanges.okx import start_okx

    server = start_okx(crypto_engine(), {OKX_KEY: (OKX_SECRET, OKX_PASSPHRASE)})
    yield server
    server.stop()
