"""keeper.yaml: the schema (`models`), human-value parsing (`values`), the schedule (`schedule`),
cross-section rules (`semantics`), compilation to the core's spec (`compile`), loading with
one-line file:line errors (`loader`), seed 001's format (`seed001`), address books (`addresses`)
and safe edits (`edit`).

This package must not import web3, ccxt, httpx, sqlite3 or the keeper's I/O packages; reading
and writing the config file itself is its only I/O.
"""

from keeper.config.loader import LoadedConfig, load_config, load_config_text

__all__ = ["LoadedConfig", "load_config", "load_config_text"]
