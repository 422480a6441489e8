"""Broker adapters, one file per broker: Alpaca (httpx), Interactive Brokers (CP gateway, httpx),
MetaTrader 5 (its Windows-only package, or a clear NotAvailable)."""
