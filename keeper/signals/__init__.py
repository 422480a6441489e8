"""Signals: pure decisions about whether acting now is worth it (drift, gas, yields, IL, schedule).

Every module here takes plain values and returns plain values. Nothing in this package imports
web3, ccxt, httpx, sqlite3 or any I/O adapter of the keeper; the snapshot readers feed it.
"""
