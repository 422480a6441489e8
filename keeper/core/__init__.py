"""The keeper's pure decision core: portfolio values, drift, strategies and the trade planner.

Everything here takes plain values and returns plain values. Nothing in this package reads a
file, a clock, a chain, an exchange or a database; `tests/core/test_purity.py` enforces that it
never imports web3, ccxt, httpx, sqlite3 or the I/O packages of the keeper.

Modules, in the order data flows through them:

- `spec`: the treasury's declared intent (assets, classes, bands, venues, limits, strategy),
  compiled from `keeper.yaml` by `keeper.config`.
- `portfolio`: what the treasury holds now (`Position`, `Snapshot`).
- `drift`: target vs current per asset and class, with seed-000 statuses and priorities.
- `strategies`: which assets must or may move, and how far (`Goal`).
- `flow`: an integer max-flow used to match sells with buys inside venues.
- `planner`: a `Goal` -> the smallest set of venue-local trades (`Plan`), with costs.
- `plan`: the `Plan`/`Trade` values and `apply_plan` (the portfolio after a plan, same prices).
- `synthetic`: spec + snapshot builders for tests and benchmarks (through the real types).
"""
