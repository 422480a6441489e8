"""The keystore signer: the file `ape accounts` writes, the password from env or prompt, no leaks."""

import json
import subprocess
import sys

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from keeper.errors import ConfigError, NotAvailable
from keeper.execution.signer import PASSWORD_ENV, KeystoreSigner, ape_keystore_path, hardware_signer
from keeper.secrets import redact

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def keystore(tmp_path):
    """A keyfile v3 as `ape accounts` writes it (EthAccount.encrypt), with cheap scrypt for speed."""
    path = tmp_path / "keeper.json"
    path.write_text(json.dumps(Account.encrypt(KEY, PASSWORD, iterations=2**10)))
    return path


def test_keystore__password_in_env__signs_recoverable_tx(keystore, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    signer = KeystoreSigner.from_keystore(keystore)
    assert signer.address == Account.from_key(KEY).address
    tx = {
        "type": 2,
        "chainId": 1,
        "nonce": 4,
        "to": "0x" + "11" * 20,
        "value": 0,
        "gas": 21_000,
        "maxFeePerGas": 30 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    signed = signer.sign_transaction(tx)
    assert Account.recover_transaction(signed.raw) == signer.address
    assert (signed.nonce, signed.max_fee_wei, signed.priority_fee_wei) == (4, 30 * 10**9, 10**9)


def test_keystore__sign_text__eip191_recoverable(keystore, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    signer = KeystoreSigner.from_keystore(keystore)
    signature = signer.sign_text("0xabc")
    assert (
        Account.recover_message(encode_defunct(text="0xabc"), signature=signature) == signer.address
    )


def test_keystore__key_and_password__registered_as_secrets(keystore, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    KeystoreSigner.from_keystore(keystore)
    leaked = f"debug: key={KEY[2:]} also {KEY} and pw {PASSWORD}"
    scrubbed = redact(leaked)
    assert KEY[2:] not in scrubbed and PASSWORD not in scrubbed


def test_keystore__repr__address_only(keystore, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    signer = KeystoreSigner.from_keystore(keystore)
    assert repr(signer) == f"KeystoreSigner({signer.address})"
    assert not hasattr(signer, "__dict__")


def test_keystore__wrong_password__config_error_without_password(keystore, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "not the password at all")
    with pytest.raises(ConfigError) as info:
        KeystoreSigner.from_keystore(keystore)
    assert (
        info.value.one_line()
        == f"keystore keeper.json: the password does not open it (MAC mismatch); check {PASSWORD_ENV}"
    )
    assert "not the password at all" not in str(info.value)


def test_keystore__no_env_on_terminal__prompts(keystore, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    asked = []
    signer = KeystoreSigner.from_keystore(
        keystore, prompt=lambda msg: asked.append(msg) or PASSWORD, interactive=True
    )
    assert asked == ["Password for keystore keeper.json: "]
    assert signer.address == Account.from_key(KEY).address
    assert PASSWORD not in redact(f"pw {PASSWORD}")


def test_keystore__no_env_no_terminal__config_error_names_variable(keystore, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(ConfigError, match=PASSWORD_ENV):
        KeystoreSigner.from_keystore(keystore, interactive=False)


def test_keystore__plain_key_file__refused(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({"private_key": KEY}))
    with pytest.raises(ConfigError, match="not an Ethereum keyfile v3") as info:
        KeystoreSigner.from_keystore(path)
    assert KEY not in str(info.value)


def test_keystore__missing_file__says_how_to_create(tmp_path):
    with pytest.raises(ConfigError, match="ape accounts generate"):
        KeystoreSigner.from_keystore(tmp_path / "nope.json")


def test_ape_keystore_path__alias__under_accounts(tmp_path):
    assert (
        ape_keystore_path("treasury", data_folder=tmp_path)
        == tmp_path / "accounts" / "treasury.json"
    )


def test_hardware__ledger__not_available_says_what_to_install():
    with pytest.raises(NotAvailable, match="ape-ledger"):
        hardware_signer("ledger", "cold")


def test_keystore__written_by_ape_accounts__loads(tmp_path, monkeypatch):
    """ape's own import command writes the keystore; we open it (ape runs in a child process so its
    global configuration stays out of this test session)."""
    script = (
        "from ape_accounts import import_account_from_private_key as imp;"
        f"imp('keeper', {PASSWORD!r}, {KEY!r})"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        env={"APE_DATA_FOLDER": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        timeout=300,
    )
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    signer = KeystoreSigner.from_keystore(ape_keystore_path("keeper", data_folder=tmp_path))
    assert signer.address == Account.from_key(KEY).address
