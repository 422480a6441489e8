"""The devnet's address book: every deployed contract and role account, by name, as JSON.

Everything else (tests, scripts, the demo, a `keeper.yaml` that names `token: USDC`) reads
addresses from here, never from literals. The file is plain JSON so operators can read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from keeper.quotes.uniswap import UniswapSource, V2Pair, V3Pool

# Feeds also answer to the name of the asset a wrapped token stands for.
FEED_ALIASES = {"WBTC": "btc", "WETH": "eth"}


@dataclass
class TokenEntry:
    address: str
    decimals: int
    feed: str  # Chainlink-style USD feed (8 decimals)


@dataclass
class PoolEntry:
    address: str
    token0: str  # symbols, sorted by address as Uniswap sorts them
    token1: str
    fee: int


@dataclass
class VaultEntry:
    address: str
    asset: str  # symbol of the underlying
    apy: str  # the yield the devnet drips, as a decimal string ("0.04")


@dataclass
class AaveEntry:
    pool: str
    addresses_provider: str
    configurator: str
    oracle: str
    data_provider: str
    acl_manager: str
    a_tokens: dict[str, str] = field(default_factory=dict)  # underlying symbol -> aToken
    variable_debt_tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class AddressBook:
    chain_id: int
    multicall3: str
    weth: str
    accounts: dict[str, str]  # role -> address (deployer, owner, keeper, guardian, lp, borrower, stranger)
    tokens: dict[str, TokenEntry]
    uniswap_v2: dict[str, str]  # factory, router
    uniswap_v3: dict[str, str]  # factory, position_manager, swap_router02, quoter_v2, descriptor
    v3_pools: list[PoolEntry]
    v2_pairs: list[PoolEntry]
    vaults: dict[str, VaultEntry]
    aave: AaveEntry
    extra: dict[str, str] = field(default_factory=dict)  # later additions: rebalancer, relay, ...

    def token(self, symbol: str) -> TokenEntry:
        try:
            return self.tokens[symbol]
        except KeyError:
            raise KeyError(f"no token {symbol!r} in the address book; known: {', '.join(sorted(self.tokens))}") from None

    def resolve(self, name: str) -> str:
        """Address of a named thing: a token symbol, vault key, `aave.pool`, `uniswap_v3.quoter_v2`, a role..."""
        if name in self.tokens:
            return self.tokens[name].address
        if name in self.vaults:
            return self.vaults[name].address
        if name in self.accounts:
            return self.accounts[name]
        if name in self.extra:
            return self.extra[name]
        section, _, key = name.partition(".")
        if section == "uniswap_v2" and key in self.uniswap_v2:
            return self.uniswap_v2[key]
        if section == "uniswap_v3" and key in self.uniswap_v3:
            return self.uniswap_v3[key]
        if section == "aave":
            if key.startswith("a") and key[1:] in self.aave.a_tokens:
                return self.aave.a_tokens[key[1:]]
            value = getattr(self.aave, key, None)
            if isinstance(value, str):
                return value
        if name in ("multicall3", "weth"):
            return getattr(self, name)
        raise KeyError(f"{name!r} is not in the devnet address book")

    def names(self) -> dict[str, str]:
        """A flat name -> address map for configs: token symbols, `feed_<asset>_usd` (WBTC's feed
        also as feed_btc_usd, WETH's as feed_eth_usd), vault keys, `a<SYMBOL>` aTokens, roles,
        `aave_pool`, `swap_router02`, `quoter_v2`, and later additions (`rebalancer`)."""
        names: dict[str, str] = {}
        for symbol, entry in self.tokens.items():
            names[symbol] = entry.address
            names[f"feed_{symbol.lower()}_usd"] = entry.feed
            alias = FEED_ALIASES.get(symbol)
            if alias:
                names[f"feed_{alias}_usd"] = entry.feed
        names.update({key: vault.address for key, vault in self.vaults.items()})
        names.update({f"a{symbol}": address for symbol, address in self.aave.a_tokens.items()})
        names.update(self.accounts)
        names.update({f"aave_{key}": value for key, value in asdict(self.aave).items() if isinstance(value, str)})
        names.update(self.uniswap_v3)
        names.update({f"uniswap_v2_{key}": value for key, value in self.uniswap_v2.items()})
        names["multicall3"] = self.multicall3
        names.update(self.extra)
        return names

    def to_json(self) -> str:
        return json.dumps(asdict(self) | {"names": self.names()}, indent=2, sort_keys=True)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)

    @classmethod
    def from_json(cls, text: str) -> AddressBook:
        raw = json.loads(text)
        return cls(
            chain_id=raw["chain_id"],
            multicall3=raw["multicall3"],
            weth=raw["weth"],
            accounts=raw["accounts"],
            tokens={k: TokenEntry(**v) for k, v in raw["tokens"].items()},
            uniswap_v2=raw["uniswap_v2"],
            uniswap_v3=raw["uniswap_v3"],
            v3_pools=[PoolEntry(**p) for p in raw["v3_pools"]],
            v2_pairs=[PoolEntry(**p) for p in raw["v2_pairs"]],
            vaults={k: VaultEntry(**v) for k, v in raw["vaults"].items()},
            aave=AaveEntry(**raw["aave"]),
            extra=raw.get("extra", {}),
        )

    @classmethod
    def load(cls, path: Path) -> AddressBook:
        return cls.from_json(Path(path).read_text())


def uniswap_source(book: AddressBook, eth_call) -> UniswapSource:
    """A Uniswap quote source over every pool and pair the devnet deployed."""
    address = {symbol: entry.address for symbol, entry in book.tokens.items()}
    return UniswapSource(
        eth_call,
        chain_id=book.chain_id,
        quoter_v2=book.uniswap_v3["quoter_v2"],
        swap_router02=book.uniswap_v3["swap_router02"],
        v2_router=book.uniswap_v2["router"],
        pools=[V3Pool(address[p.token0], address[p.token1], p.fee) for p in book.v3_pools],
        v2_pairs=[V2Pair(address[p.token0], address[p.token1]) for p in book.v2_pairs],
    )
