"""Broker adapters, one file per broker: Alpaca (httpx), Interactive Brokers (CP gateway, httpx),
MetaTrader 5 (its Windows-only package, or a clear NotAvailable); and `BrokerReader`, the
`VenueReader` the factory builds for `kind: broker` venues (`reader.py`)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy, so that importing one adapter (brokers.alpaca) does not load the reader's imports.
    if name == "BrokerReader":
        from keeper.venues.brokers.reader import BrokerReader

        return BrokerReader
    raise AttributeError(name)
