"""Exchange and broker adapters from `keeper.yaml` and the environment.

This module owns the one place where a `cex` or `broker` venue of the config becomes an adapter
(`CcxtVenue`, `AlpacaVenue`, `IbkrVenue`):

- which environment variables hold its secrets: `<PREFIX>API_KEY`, `<PREFIX>API_SECRET` (OKX
  also `<PREFIX>API_PASSPHRASE`), the prefix being the venue's `credentials_env` (default: the
  venue name in capitals and "_"); secrets are registered with `keeper.secrets` as they are read;
- where its API lives: `<PREFIX>BASE_URL` (and Alpaca's `<PREFIX>DATA_URL`) point a venue at a
  testnet or at the devnet's local servers; `endpoint` validates them (see the `credentials_env`
  field of `keeper.config.models.VenueConfig`);
- how its legs are worked (`execution_config`: slices, time in force, off-hours policy).

A venue that cannot be built says so in one line with the fix: `ConfigError` for a missing or
malformed variable, `NotAvailable` for MT5 off Windows. Building makes no request; adapters bind
their HTTP sessions to the event loop that first uses them, so build, use and close them in one
loop. It decides nothing about plans.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from keeper import secrets
from keeper.config.loader import LoadedConfig
from keeper.errors import ConfigError, NotAvailable
from keeper.money import BPS
from keeper.secrets import safe_url
from keeper.venues.executor import ExecutionConfig, OrderVenue
from keeper.venues.hours import MarketHours
from keeper.venues.retry import RetryPolicy

_ALPACA_HOST = re.compile(r"(^|\.)alpaca\.markets$")
_NEEDS_PASSPHRASE = ("okx",)


@dataclass(frozen=True, slots=True)
class VenueEnv:
    """The names (never the values) of one venue's environment variables."""

    prefix: str

    @property
    def api_key(self) -> str:
        return f"{self.prefix}API_KEY"

    @property
    def api_secret(self) -> str:
        return f"{self.prefix}API_SECRET"

    @property
    def passphrase(self) -> str:
        return f"{self.prefix}API_PASSPHRASE"

    @property
    def base_url(self) -> str:
        return f"{self.prefix}BASE_URL"

    @property
    def data_url(self) -> str:
        return f"{self.prefix}DATA_URL"

    @property
    def account_id(self) -> str:
        return f"{self.prefix}ACCOUNT_ID"


def venue_env(loaded: LoadedConfig, name: str) -> VenueEnv:
    """`credentials_env`, or the venue name in capitals with "_" (binance -> BINANCE_)."""
    configured = loaded.model.venues[name].credentials_env
    if configured:
        return VenueEnv(configured)
    prefix = re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"
    return VenueEnv(prefix if prefix[0].isalpha() else "V" + prefix)


def endpoint(value: str | None, *, venue: str, variable: str) -> str | None:
    """A validated API root from the environment, or None when unset.

    Refused (one line, with the fix): anything but http(s) with a host; a user:password, query
    or fragment (keys belong in their own variables); plain http to a host that is not loopback
    (API keys travel in request headers and would cross the network in clear text).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    parts = urlsplit(text)
    shown = safe_url(text) if parts.scheme and parts.hostname else "a value that is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"venue {venue}: {variable} must be an http(s) URL such as http://127.0.0.1:8301 "
            f"(got {shown}); unset it to use the venue's own API"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(
            f"venue {venue}: {variable} must not carry a user, password, query or fragment "
            f"({shown}...): API keys go in their own variables"
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ConfigError(
            f"venue {venue}: {variable} uses plain http to {parts.hostname}: use https (API keys "
            "travel in request headers); plain http is only for loopback test servers"
        )
    return text.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class VenueSettings:
    """Everything needed to build one venue's adapter. Secrets are kept out of `repr`."""

    name: str
    adapter: str  # "ccxt", "alpaca", "ibkr"
    exchange: str | None = None
    base_url: str | None = None
    data_url: str | None = None
    account_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_secret: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)

    @property
    def has_credentials(self) -> bool:
        if self.adapter == "ibkr":
            return True  # the gateway's session is the credential
        return bool(self.api_key and self.api_secret)


def venue_settings(
    loaded: LoadedConfig,
    name: str,
    *,
    need_credentials: bool,
    environ: Mapping[str, str] | None = None,
) -> VenueSettings:
    """Read venue `name`'s settings from the config and `environ` (default: the process's).

    With `need_credentials`, a missing API key, secret or passphrase is a `ConfigError` naming
    the variables to set; without it (dry runs) they are not read at all.
    """
    env = os.environ if environ is None else environ
    config = loaded.model.venues.get(name)
    if config is None:
        raise ConfigError(f"venue {name!r} is not under venues: in {loaded.path.name}")
    names = venue_env(loaded, name)
    base = endpoint(env.get(names.base_url), venue=name, variable=names.base_url)
    if config.kind == "cex":
        exchange = config.exchange or ""
        key = secret = passphrase = None
        if need_credentials:
            wanted = [names.api_key, names.api_secret]
            if exchange in _NEEDS_PASSPHRASE:
                wanted.append(names.passphrase)
            _require(env, wanted, venue=name, account=f"the {exchange} account")
            key, secret = env[names.api_key], env[names.api_secret]
            passphrase = env.get(names.passphrase) if exchange in _NEEDS_PASSPHRASE else None
            for value in (key, secret, passphrase):
                secrets.register(value)
        return VenueSettings(
            name,
            "ccxt",
            exchange=exchange,
            base_url=base,
            api_key=key,
            api_secret=secret,
            passphrase=passphrase,
        )
    if config.kind == "broker" and config.broker == "alpaca":
        key = secret = None
        if need_credentials:
            _require(
                env, [names.api_key, names.api_secret], venue=name, account="the Alpaca account"
            )
            key, secret = env[names.api_key], env[names.api_secret]
            secrets.register(key)
            secrets.register(secret)
        data = endpoint(env.get(names.data_url), venue=name, variable=names.data_url)
        if data is None and base is not None:
            host = urlsplit(base).hostname or ""
            data = None if _ALPACA_HOST.search(host) else base
        return VenueSettings(
            name, "alpaca", base_url=base, data_url=data, api_key=key, api_secret=secret
        )
    if config.kind == "broker" and config.broker == "ibkr":
        account = env.get(names.account_id) or None
        return VenueSettings(name, "ibkr", base_url=base, account_id=account)
    if config.kind == "broker" and config.broker == "mt5":
        from keeper.venues.brokers.mt5 import Mt5Venue

        Mt5Venue.connect(name=name)  # NotAvailable off Windows or without a terminal
        raise NotAvailable(
            f"venue {name}: reading and trading MT5 accounts is not built yet (lots need each "
            "symbol's contract size); read it from a file with reader: {static: FILE}"
        )
    raise ConfigError(f"venue {name}: a {config.kind} venue has no exchange or broker adapter")


def _require(env: Mapping[str, str], variables: list[str], *, venue: str, account: str) -> None:
    missing = [v for v in variables if not env.get(v)]
    if missing:
        raise ConfigError(
            f"venue {venue}: set {' and '.join(missing)} in the environment (API keys of "
            f"{account}; secrets never live in keeper.yaml), or read the venue from a file "
            "with reader: {static: FILE} or --static FILE"
        )


def build_adapter(
    settings: VenueSettings,
    *,
    read_only: bool,
    hours: MarketHours | None = None,
    sleep: Any = asyncio.sleep,
    timeout_s: float = 10.0,
) -> OrderVenue:
    """The adapter of `settings`. `read_only` builds it without credentials: it then refuses
    every authenticated call before a request leaves (the dry run relies on it)."""
    if not read_only and not settings.has_credentials:
        raise ConfigError(f"venue {settings.name}: built without credentials, cannot trade")
    if settings.adapter == "ccxt":
        from keeper.venues.cex import CcxtVenue

        return CcxtVenue(
            settings.exchange or "",
            name=settings.name,
            api_key=None if read_only else settings.api_key,
            secret=None if read_only else settings.api_secret,
            password=None if read_only else settings.passphrase,
            base_url=settings.base_url,
            timeout_ms=int(timeout_s * 1000),
        )
    if settings.adapter == "alpaca":
        from keeper.venues.brokers.alpaca import DATA_URL, PAPER_URL, AlpacaVenue

        return AlpacaVenue(
            key_id=None if read_only else settings.api_key,
            secret_key=None if read_only else settings.api_secret,
            name=settings.name,
            base_url=settings.base_url or PAPER_URL,
            data_url=settings.data_url or DATA_URL,
            hours=hours,
            timeout_s=timeout_s,
        )
    if settings.adapter == "ibkr":
        from keeper.venues.brokers.ibkr import GATEWAY_URL, IbkrVenue

        return IbkrVenue(
            base_url=settings.base_url or GATEWAY_URL,
            account_id=settings.account_id,
            name=settings.name,
            hours=hours,
            sleep=sleep,
            read_only=read_only,
            timeout_s=timeout_s,
        )
    raise ConfigError(f"venue {settings.name}: unknown adapter {settings.adapter!r}")


def open_order_venues(
    loaded: LoadedConfig,
    names: Iterable[str],
    *,
    send: bool,
    environ: Mapping[str, str] | None = None,
    hours: MarketHours | None = None,
    sleep: Any = asyncio.sleep,
) -> dict[str, OrderVenue]:
    """Adapters for `names`, with credentials when `send` (else read-only: no key is even read).

    Every venue is checked before any is built, so a missing variable fails before anything
    else; close the result with `close_venues` in the loop that used it.
    """
    settings = [
        venue_settings(loaded, n, need_credentials=send, environ=environ)
        for n in sorted(set(names))
    ]
    return {
        s.name: build_adapter(s, read_only=not send, hours=hours, sleep=sleep) for s in settings
    }


async def close_venues(venues: Mapping[str, Any]) -> None:
    for venue in venues.values():
        await venue.close()


def execution_config(
    loaded: LoadedConfig, name: str, *, retry: RetryPolicy | None = None
) -> ExecutionConfig:
    """How venue `name`'s legs are worked, from the `execution:` section.

    Slices above `split_orders_above` (quote units); brokers send day orders and follow the
    `off_hours` policy; exchanges send good-till-cancelled orders.
    """
    model = loaded.model.execution
    kind = loaded.model.venues[name].kind
    return ExecutionConfig(
        max_order_notional=model.split_orders_above,
        time_in_force="day" if kind == "broker" else "gtc",
        off_hours=model.off_hours,
        retry=retry or RetryPolicy(),
    )


def limit_slippage_bps(loaded: LoadedConfig, name: str) -> int:
    """How far past the touch a leg's limit price may go: the venue's expected slippage for
    limit orders; the whole tolerance when `use_limit_orders` is false (a bounded "market")."""
    model = loaded.model.execution
    if model.use_limit_orders:
        return loaded.spec.venue(name).slippage_bps
    return int((model.slippage_tolerance * BPS).to_integral_value())


def tolerance(loaded: LoadedConfig) -> Decimal:
    """The worst price move a leg accepts against its reference price (a fraction)."""
    return loaded.model.execution.slippage_tolerance
