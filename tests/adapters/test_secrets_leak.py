"""Plant a known key, password, reputation key and API keys; run signing, quoting and submission
at DEBUG, with failures; find none of them in the logs or in any error output."""

import io
import json
import logging
import traceback
from fractions import Fraction

import pytest
from eth_account import Account

from keeper.devnet.aggregators import LocalAggregators, fixed_rate_price_fn
from keeper.devnet.relay import LocalRelay
from keeper.errors import ConfigError, KeeperError
from keeper.execution.signer import PASSWORD_ENV, KeystoreSigner
from keeper.execution.submit import SubmitPolicy, Submitter, TxRequest
from keeper.http import RetryPolicy
from keeper.quotes.oneinch import OneInchSource
from keeper.quotes.zerox import ZeroExSource
from keeper.relays.flashbots import BundleRelay, FlashbotsAuth
from keeper.relays.private import FlashbotsProtect
from keeper.secrets import install_log_filter

PLANTED_KEY = "0x8f3c2b7e5d1a4c6b9e0f2a3d5c7b9e1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b"
PLANTED_PASSWORD = "planted-Password-7f2c1e"
PLANTED_REPUTATION = "0x1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f901"
PLANTED_API_KEYS = {
    "ONEINCH_API_KEY": "planted-1inch-key-a81f",
    "ZEROX_API_KEY": "planted-0x-key-c42d",
}
WETH, USDC = (
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
    "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
)


def planted_values():
    values = [
        PLANTED_KEY,
        PLANTED_KEY[2:],
        PLANTED_PASSWORD,
        PLANTED_REPUTATION,
        PLANTED_REPUTATION[2:],
    ]
    return values + list(PLANTED_API_KEYS.values())


class Clock:
    def __init__(self, relay):
        self.relay = relay

    def wait_for_block(self, after):
        return self.relay.mine_block()


@pytest.fixture
def logs():
    """Two captures: everything at the root (with the redacting filter, as the keeper runs), and
    the keeper's own loggers unfiltered (so our code is shown not to log secrets at all)."""
    root, ours = logging.getLogger(), logging.getLogger("keeper")
    filtered, raw = io.StringIO(), io.StringIO()
    filtered_handler, raw_handler = logging.StreamHandler(filtered), logging.StreamHandler(raw)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(filtered_handler)
    ours.addHandler(raw_handler)
    install_log_filter(root)
    yield filtered, raw
    root.removeHandler(filtered_handler)
    ours.removeHandler(raw_handler)
    root.setLevel(old_level)


def test_secrets__planted_everywhere__found_nowhere(
    devnet, node, tmp_path, monkeypatch, logs, capsys
):
    account = Account.from_key(PLANTED_KEY)
    devnet.rpc("anvil_setBalance", account.address, hex(10**20))
    keystore = tmp_path / "planted.json"
    keystore.write_text(
        json.dumps(Account.encrypt(PLANTED_KEY, PLANTED_PASSWORD, iterations=2**10))
    )
    monkeypatch.setenv(PASSWORD_ENV, PLANTED_PASSWORD)
    monkeypatch.setenv("KEEPER_FLASHBOTS_KEY", PLANTED_REPUTATION)
    for name, value in PLANTED_API_KEYS.items():
        monkeypatch.setenv(name, value)
    errors: list[BaseException] = []
    fast = RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0)

    signer = KeystoreSigner.from_keystore(keystore)
    with (
        LocalRelay(devnet.url) as relay,
        LocalAggregators(
            fixed_rate_price_fn({(WETH, USDC): Fraction(3000)}, router="0x" + "ab" * 20),
            oneinch_key=PLANTED_API_KEYS["ONEINCH_API_KEY"],
            zerox_key="the-server-wants-another-key",
        ) as aggregators,
    ):
        # the happy paths, at DEBUG
        OneInchSource(base_url=aggregators.base_url("1inch"), retry=fast).quote(
            1, WETH, USDC, 10**18, account.address
        )
        auth = FlashbotsAuth.from_env()
        for relay_client in (
            FlashbotsProtect(rpc_url=relay.protect_url, status_url=relay.status_url),
            BundleRelay(auth, url=relay.url),
        ):
            Submitter(
                node,
                relay_client,
                signer,
                clock=Clock(relay),
                policy=SubmitPolicy(deadline_blocks=5),
            ).submit(
                TxRequest(31337, "0x" + "11" * 20, "0x", 21_000, 1),
                max_fee_wei=10**10,
                priority_fee_wei=10**9,
                cap_wei=5 * 10**10,
            )
        logging.getLogger("careless.plugin").debug(
            "careless dump: key=%s password=%s", PLANTED_KEY, PLANTED_PASSWORD
        )
        # the failure paths
        try:
            ZeroExSource(base_url=aggregators.base_url("0x"), retry=fast).quote(
                1, WETH, USDC, 10**18, account.address
            )
        except ConfigError as e:
            errors.append(e)
        monkeypatch.setenv(PASSWORD_ENV, PLANTED_PASSWORD + "-wrong")
        try:
            KeystoreSigner.from_keystore(keystore)
        except ConfigError as e:
            errors.append(e)
    assert len(errors) == 2
    filtered, raw = logs
    outputs = {
        "root log (filtered)": filtered.getvalue(),
        "keeper log (unfiltered)": raw.getvalue(),
        "errors": "\n".join(
            "".join(traceback.format_exception(e))
            + (e.one_line() if isinstance(e, KeeperError) else "")
            for e in errors
        ),
        "stdout/stderr": "".join(capsys.readouterr()),
        "signer repr": repr(signer) + str(signer),
    }
    assert (
        "send_request_headers" in filtered.getvalue()
    )  # DEBUG of the HTTP stack really was captured
    assert "sent 0x" in outputs["keeper log (unfiltered)"]
    for where, text in outputs.items():
        for secret in planted_values():
            assert secret not in text, f"a planted secret leaked into the {where}"
    assert (
        "careless dump: key=<redacted> password=" in filtered.getvalue()
    )  # scrubbed, still logged


def test_secrets_check__broken_keeper_module_logging_a_key__caught(logs):
    """The unfiltered capture of the keeper's loggers bites: a module that logs a key is seen."""
    filtered, raw = logs
    logging.getLogger("keeper.broken_variant").debug("signing with %s", PLANTED_KEY)
    assert PLANTED_KEY in raw.getvalue()
