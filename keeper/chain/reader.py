"""The chain venue reader: every holding of the treasury on one chain, priced, in ONE eth_call.

`ChainReader(venue, loaded_config)` resolves the venue's account and each holding's contract from
the config (address-book keys or 0x addresses), and each asset's feed. `read()` then asks
Multicall3 once for all balances, vault conversions, aToken balances, feeds, and the block, and
builds the core's `Position`s. What never changes (decimals, a vault's underlying) is read once,
on the first call, and cached: every snapshot after that is exactly one round trip.

Feed staleness is judged against the block's timestamp, not this machine's clock: that is the time
the BatchRebalancer will judge it by too.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from keeper.chain.positions import (
    BalanceQuery,
    ChainRead,
    EthCall,
    Metadata,
    read_chain,
    read_metadata,
)
from keeper.config.addresses import load_address_book, resolve_chain_refs
from keeper.config.loader import LoadedConfig
from keeper.core.portfolio import Position
from keeper.core.spec import HoldingKind, HoldingSpec, PortfolioSpec
from keeper.errors import ConfigError
from keeper.secrets import safe_url
from keeper.venues.base import VenueReading

DEFAULT_RPC_URL = "http://127.0.0.1:8545"

_KIND = {
    HoldingKind.ERC20: "erc20",
    HoldingKind.ERC4626: "erc4626",
    HoldingKind.ATOKEN: "atoken",
    HoldingKind.NATIVE: "native",
}


def rpc_url_for(loaded: LoadedConfig, venue: str) -> str:
    """The venue's RPC URL: from the environment variable its config names, else the local node."""
    env = loaded.model.venues[venue].rpc_url_env
    if env and os.environ.get(env):
        return os.environ[env]
    return DEFAULT_RPC_URL


def resolve_account(loaded: LoadedConfig, venue: str) -> str:
    """The treasury's address on chain venue `venue` (`account:` in the config)."""
    config = loaded.model.venues[venue]
    if not config.account:
        raise ConfigError(
            f"venues.{venue}.account is missing: set it to the treasury's BatchRebalancer on this chain "
            "(an address-book key such as rebalancer, or a 0x address)"
        )
    if config.account.startswith("0x") and len(config.account) == 42:
        return config.account
    if not config.address_book:
        raise ConfigError(f"venues.{venue}.account: {config.account!r} is a name but the venue has no address_book")
    return load_address_book(loaded.resolve(config.address_book)).resolve(config.account, f"venues.{venue}.account")


class ChainReader:
    """A `VenueReader` for one chain venue."""

    def __init__(self, venue: str, loaded: LoadedConfig, *, eth_call: EthCall | None = None):
        self.venue = venue
        self.account = resolve_account(loaded, venue)
        refs = resolve_chain_refs(loaded)
        spec = loaded.spec
        self._holdings: tuple[HoldingSpec, ...] = tuple(h for h in spec.holdings if h.venue == venue)
        self._queries = tuple(
            BalanceQuery(h.id, _KIND[h.kind], refs.holdings[h.id]) for h in self._holdings if h.kind in _KIND
        )
        held_assets = {h.asset for h in self._holdings}
        self._feeds = {asset: address for asset, (feed_venue, address) in refs.feeds.items() if feed_venue == venue and asset in held_assets}
        if eth_call is None:
            from keeper.chain.rpc import RpcClient

            url = rpc_url_for(loaded, venue)
            self._rpc = RpcClient(url, name=f"venue {venue} at {safe_url(url)}")
            eth_call = self._rpc.eth_call
        self._eth_call = eth_call
        self._metadata: dict[str, Metadata] | None = None
        self.round_trips = 0

    def _counted_call(self, tx: dict[str, Any], block: Any) -> bytes:
        self.round_trips += 1
        return self._eth_call(tx, block)

    def read(self, spec: PortfolioSpec, now: int) -> VenueReading:
        """Every holding on this chain. `now` is not used for staleness: the block's time is."""
        before = self.round_trips
        if self._metadata is None:
            self._metadata = read_metadata(self._counted_call, self._queries)
        chain = read_chain(self._counted_call, self.account, self._queries, sorted(set(self._feeds.values())))
        positions = tuple(self._position(spec, h, chain) for h in self._holdings)
        return VenueReading(self.venue, positions, chain.block_number, self.round_trips - before)

    def _position(self, spec: PortfolioSpec, holding: HoldingSpec, chain: ChainRead) -> Position:
        meta = self._metadata.get(holding.id) if self._metadata else None
        decimals = holding.decimals if holding.decimals is not None else (meta.decimals if meta else None)
        balance = chain.balances.get(holding.id)
        common = {"holding": holding.id, "asset": holding.asset, "venue": self.venue, "kind": holding.kind}
        if holding.kind not in _KIND:
            return Position.failed(**common, decimals=decimals or 0, reason=f"{holding.kind.value} holdings are not read on chains")
        if decimals is None:
            return Position.failed(**common, decimals=0, reason=f"decimals() of {holding.ref} is unreadable")
        if balance is None:
            return Position.failed(**common, decimals=decimals, reason=f"the balance read of {holding.ref} reverted")
        price, price_time, source = self._price(spec, holding.asset, chain)
        asset = spec.asset(holding.asset)
        return Position.read(
            **common, raw=balance.raw, decimals=decimals, price_usd=price, price_source=source, price_time=price_time,
            now=chain.block_timestamp, max_age_s=asset.price.max_age_s or spec.default_price_max_age_s,
            shares_raw=balance.shares,
        )

    def _price(self, spec: PortfolioSpec, asset: str, chain: ChainRead) -> tuple[Decimal | None, int | None, str]:
        price_spec = spec.asset(asset).price
        if price_spec.fixed is not None:
            return price_spec.fixed, chain.block_timestamp, "fixed in keeper.yaml"
        feed = self._feeds.get(asset)
        if feed is None:
            return None, None, f"no feed for {asset} on {self.venue}"
        answer = chain.feeds.get(feed)
        source = f"feed {feed[:10]} on {self.venue}"
        if answer is None:
            return None, None, f"{source} (unreadable)"
        return Decimal(answer.answer).scaleb(-answer.decimals), answer.updated_at, source
