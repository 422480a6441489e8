"""Benchmarks: each `bench_<name>.py` exposes `run() -> dict[str, number]`; `make bench` runs them."""
