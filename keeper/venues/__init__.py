"""Venues: where balances are read and orders placed.

`base` holds the interfaces (`VenueReader`, `OrderVenue`) and `read_snapshot`; `static` a reader
over a file; `factory` builds each venue's reader from the config. The ccxt and broker adapters
(later issues) live beside them.
"""
