"""The keeper's signer: an encrypted keystore (what `ape accounts` writes), never a plain key.

Owns loading the key and signing with it:
- the keystore is a standard Ethereum keyfile v3 (scrypt or pbkdf2, AES-128-CTR), exactly what
  `ape accounts generate|import` writes to `~/.ape/accounts/<alias>.json`;
- the password comes from the environment (`KEEPER_KEYSTORE_PASSWORD`) or, on a terminal, an
  interactive prompt; it is registered with `keeper.secrets` the moment it is read, and so is the
  decrypted key, so neither can reach a log, an error or the journal;
- hardware wallets would sign through ape's plugins (ape-ledger, ape-trezor); they are not
  installed here, so asking for one raises `NotAvailable` with what to install.

It must not log the key or the password, put either in an exception, or expose the key object:
callers get an address, `sign_transaction` and `sign_text`, nothing else.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eth_account import Account
from eth_account.messages import encode_defunct

from keeper import secrets
from keeper.errors import ConfigError, NotAvailable

log = logging.getLogger(__name__)

PASSWORD_ENV = "KEEPER_KEYSTORE_PASSWORD"


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed transaction: the raw bytes to broadcast, its hash, and the fields we track (wei)."""

    raw: bytes
    tx_hash: str
    nonce: int
    max_fee_wei: int
    priority_fee_wei: int


class Signer(Protocol):
    """What the submitter needs from a signer."""

    @property
    def address(self) -> str: ...

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTx: ...

    def sign_text(self, text: str) -> str: ...


class KeystoreSigner:
    """Signs with a key decrypted from a keyfile v3. Build it with `from_keystore`."""

    __slots__ = ("_account",)

    def __init__(self, account: Any) -> None:
        self._account = account

    @classmethod
    def from_keystore(
        cls,
        path: str | Path,
        *,
        password_env: str = PASSWORD_ENV,
        prompt: Callable[[str], str] | None = getpass.getpass,
        interactive: bool | None = None,
    ) -> KeystoreSigner:
        """Decrypt the keystore at `path` with the password from `password_env`, or from `prompt`
        when the environment has none and a terminal is attached (`interactive`)."""
        path = Path(path).expanduser()
        keyfile = _read_keyfile(path)
        password = secrets.from_env(password_env, purpose=f"keystore {path.name}", required=False)
        if password is None:
            interactive = sys.stdin.isatty() if interactive is None else interactive
            if not interactive or prompt is None:
                raise ConfigError(
                    f"keystore {path.name}: set {password_env} or run the keeper on a terminal to be asked"
                )
            password = prompt(f"Password for keystore {path.name}: ")
            secrets.register(password)
        try:
            key = Account.decrypt(keyfile, password)
        except ValueError as e:
            if "MAC" in str(e):
                raise ConfigError(
                    f"keystore {path.name}: the password does not open it (MAC mismatch); check {password_env}"
                ) from e
            raise ConfigError(
                f"keystore {path.name}: cannot decrypt it ({secrets.redact(str(e))})"
            ) from e
        secrets.register(bytes(key))
        account = Account.from_key(key)
        log.debug("keystore %s unlocked for %s", path.name, account.address)
        return cls(account)

    @property
    def address(self) -> str:
        return self._account.address

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTx:
        """Sign an EIP-1559 transaction dict (fees in wei)."""
        signed = self._account.sign_transaction(tx)
        return SignedTx(
            raw=bytes(signed.raw_transaction),
            tx_hash="0x" + bytes(signed.hash).hex(),
            nonce=int(tx["nonce"]),
            max_fee_wei=int(tx.get("maxFeePerGas", 0)),
            priority_fee_wei=int(tx.get("maxPriorityFeePerGas", 0)),
        )

    def sign_text(self, text: str) -> str:
        """EIP-191 `personal_sign` of `text`; 0x hex signature."""
        return "0x" + bytes(self._account.sign_message(encode_defunct(text=text)).signature).hex()

    def __repr__(self) -> str:
        return f"KeystoreSigner({self.address})"

    __str__ = __repr__


def _read_keyfile(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(
            f"keystore {path}: no such file; create it with `ape accounts generate <alias>`"
        )
    try:
        keyfile = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ConfigError(
            f"keystore {path.name}: not JSON; expected an Ethereum keyfile v3"
        ) from None
    if not isinstance(keyfile, dict) or keyfile.get("version") != 3 or "crypto" not in keyfile:
        raise ConfigError(
            f"keystore {path.name}: not an Ethereum keyfile v3 (the format ape accounts writes)"
        )
    return keyfile


def ape_keystore_path(alias: str, *, data_folder: str | Path | None = None) -> Path:
    """Where `ape accounts` keeps the keystore of `alias`: `<ape data folder>/accounts/<alias>.json`
    (the data folder is `$APE_DATA_FOLDER` or `~/.ape`)."""
    folder = Path(data_folder or os.environ.get("APE_DATA_FOLDER") or Path.home() / ".ape")
    return folder.expanduser() / "accounts" / f"{alias}.json"


def hardware_signer(kind: str, alias: str) -> Signer:
    """A hardware wallet through ape. Not available in this build: the ape plugins are absent."""
    plugin = {"ledger": "ape-ledger", "trezor": "ape-trezor"}.get(kind)
    if plugin is None:
        raise ConfigError(f"signer kind {kind!r}: use keystore, ledger or trezor")
    raise NotAvailable(
        f"{kind} signing for {alias!r} needs the {plugin} plugin, which this installation does not include; "
        "use an encrypted keystore (`ape accounts import`) instead"
    )
