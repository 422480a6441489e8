"""Address books: holdings and feeds name contracts by key (`token: USDC`, `vault: vault_usdc_a`)
and a chain venue's `address_book` file maps the keys to addresses. Literal 0x addresses need no
book (real chains).

The book is a JSON object. Leaves that are 0x addresses count; nested objects are flattened, so
both `{"USDC": "0x..."}` and `{"tokens": {"USDC": "0x..."}}` work: a nested entry answers to its
full dotted name (`tokens.USDC`) and, when no other entry has the same last part, to that part
alone (`USDC`). A top-level `names` object (the devnet writes one) maps bare names directly and
takes precedence. Other leaves (chain ids, block numbers) are ignored.

`resolve_chain_refs` turns every chain holding and feed of a loaded config into an address, or
fails with one line naming the holding and the nearest key ("did you mean"). Reading the book is
file I/O only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keeper.config.loader import LoadedConfig
from keeper.config.semantics import did_you_mean
from keeper.core.spec import HoldingKind
from keeper.errors import ConfigError

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class AddressBook:
    entries: dict[str, str]
    source: str

    def resolve(self, ref: str, what: str) -> str:
        """`ref` as an address: itself if it is one, else its entry in the book."""
        if _ADDRESS.match(ref):
            return ref
        if ref in self.entries:
            return self.entries[ref]
        raise ConfigError(

                f"{what}: {ref!r} is not in the address book "
                f"{self.source}{did_you_mean(ref, set(self.entries))}"

        )


def parse_address_book(data: Any, source: str) -> AddressBook:
    flat: dict[str, str] = {}
    short: dict[str, list[str]] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(node, str) and _ADDRESS.match(node):
            flat[prefix] = node
            short.setdefault(prefix.rsplit(".", 1)[-1], []).append(node)

    if not isinstance(data, dict):
        raise ConfigError(f"{source}: an address book must be a JSON object of name -> 0x address")
    walk(data, "")
    names = data.get("names")
    if isinstance(names, dict):  # a flat section of bare names: they win over shortened ones
        flat.update({k: v for k, v in names.items() if isinstance(v, str) and _ADDRESS.match(v)})
    for name, addrs in short.items():
        if name not in flat and len(set(a.lower() for a in addrs)) == 1:
            flat[name] = addrs[0]
    return AddressBook(flat, source)


def load_address_book(path: Path) -> AddressBook:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(

                f"address book {path} not found: start the devnet (make demo) so it is written, or "
                f"use 0x addresses"

        ) from None
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"{path}:{e.lineno}: the address book is not valid JSON: {e.msg}"
        ) from None
    return parse_address_book(data, str(path))


@dataclass(frozen=True)
class ChainRefs:
    """Resolved addresses: holding id -> contract (token, vault or aToken; "native" for the gas
    coin) and asset -> (feed venue, feed address)."""

    holdings: dict[str, str]
    feeds: dict[str, tuple[str, str]]


def resolve_chain_refs(
    loaded: LoadedConfig, books: dict[str, AddressBook] | None = None
) -> ChainRefs:
    """Resolve every chain reference of `loaded`. `books` (venue -> book) overrides the files."""
    books = dict(books or {})
    spec = loaded.spec

    def book_for(venue: str, ref: str, what: str) -> str:
        if _ADDRESS.match(ref):
            return ref
        if venue not in books:
            book_path = loaded.model.venues[venue].address_book
            if book_path is None:
                raise ConfigError(

                        f"{what}: {ref!r} is a name but venue {venue} has no address_book: add one "
                        f"or use a 0x address"

                )
            books[venue] = load_address_book(loaded.resolve(book_path))
        return books[venue].resolve(ref, what)

    holdings: dict[str, str] = {}
    for h in spec.holdings:
        if spec.venue(h.venue).kind.value != "chain":
            continue
        holdings[h.id] = (
            "native"
            if h.kind is HoldingKind.NATIVE
            else book_for(h.venue, h.ref, f"holding {h.id}")
        )
    feeds: dict[str, tuple[str, str]] = {}
    for a in spec.assets:
        if a.price.feed and a.price.feed_venue:
            feeds[a.name] = (
                a.price.feed_venue,
                book_for(a.price.feed_venue, a.price.feed, f"price feed of {a.name}"),
            )
    return ChainRefs(holdings, feeds)
