"""Venues: where balances are read and orders placed.

- `base`: the interfaces (`VenueReader`, `OrderVenue`) and `read_snapshot`; `static`: a reader
  over a file; `factory`: each venue's reader from the config.
- `types`: the plain values at the adapters' boundary (Decimal, never float).
- `legs`: leg and order state, the deterministic client order id, the `LegStore` Protocol.
- `sizing`: pure order sizing and pricing (steps, ticks, slippage, slices, cash scaling).
- `retry`, `ccxt_errors`: backoff with Retry-After; ccxt errors translated by remedy.
- `cex`: any ccxt exchange (Binance, Coinbase, Kraken, Bybit, OKX); `brokers/`: Alpaca, IBKR, MT5.
- `hours`: market hours from exchange_calendars.
- `executor`: the leg state machine, crash recovery, cross-venue plans, the dry-run executor.
- `status`: positions of every venue for `keeper status`.
- `connect`: adapters from keeper.yaml and the environment (keys, `<PREFIX>BASE_URL`, settings);
  `reading`: what the exchange and broker readers share (`cex.CcxtReader`,
  `brokers.BrokerReader`, the factory's readers for `kind: cex` and `kind: broker`).
"""
