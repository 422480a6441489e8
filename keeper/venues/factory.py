"""Build the `VenueReader` of every venue of a loaded config.

A venue reads through `reader: {static: FILE}` when its config says so (or when the caller
passes `static` to read every venue from one file); otherwise through the reader of its kind,
found by import path in `READERS`. Adapters of later issues plug in by providing that class,
constructed as `Reader(venue_name, loaded_config)`. A reader that does not exist yet is a
`NotAvailable` with the way around it, never a silent fallback.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from keeper.config.loader import LoadedConfig
from keeper.config.models import StaticSource
from keeper.errors import NotAvailable
from keeper.venues.base import VenueReader
from keeper.venues.static import StaticFile, StaticReader

#: venue kind (or explicit reader name) -> "module:Class" of its reader
READERS = {
    "chain": "keeper.chain.reader:ChainReader",
    "ccxt": "keeper.venues.cex:CcxtReader",
    "broker": "keeper.venues.brokers:BrokerReader",
}
_DEFAULT = {"chain": "chain", "cex": "ccxt", "broker": "broker"}


def make_readers(loaded: LoadedConfig, static: str | Path | None = None) -> list[VenueReader]:
    """One reader per venue, in venue-name order. `static` reads every venue from that file."""
    files: dict[Path, StaticFile] = {}

    def static_file(path: Path) -> StaticFile:
        if path not in files:
            files[path] = StaticFile.load(path)
        return files[path]

    readers: list[VenueReader] = []
    for name in sorted(loaded.model.venues):
        v = loaded.model.venues[name]
        if static is not None:
            readers.append(StaticReader(name, static_file(Path(static))))
        elif isinstance(v.reader, StaticSource):
            readers.append(StaticReader(name, static_file(loaded.resolve(v.reader.static))))
        else:
            readers.append(_load(v.reader or _DEFAULT[v.kind], name, loaded))
    return readers


def _load(kind: str, venue: str, loaded: LoadedConfig) -> VenueReader:
    target = READERS[kind]
    module_name, cls_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, cls_name)
    except (ImportError, AttributeError):
        raise NotAvailable(
            f"venue {venue}: its {kind} reader ({target}) is not built yet: "
            "pass --static FILE or set reader: {static: FILE} for this venue"
        ) from None
    return cls(venue, loaded)
