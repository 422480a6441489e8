"""`make bench`: run every benchmark under bench/, print a table, write bench/results.json.

Each `bench/bench_<name>.py` exposes `run() -> dict[str, int | float]`: figure name -> value, with
the unit in the name (`_ms`, `_s`, `_gas`, `_calls`). `--only NAME` runs one. Results merge into
bench/results.json (git-ignored), one key per figure, so tools can compare runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--only", help=f"one benchmark: {', '.join(available())}")
    args = parser.parse_args(argv)
    names = available()
    if args.only:
        if args.only not in names:
            print(f"error: no benchmark {args.only!r}; known: {', '.join(names)}", file=sys.stderr)
            return 2
        names = [args.only]

    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    table = Table(title="Benchmarks", title_justify="left")
    table.add_column("benchmark")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name in names:
        started = time.monotonic()
        figures = importlib.import_module(f"bench.bench_{name}").run()
        for key, value in figures.items():
            results[key] = value
            table.add_row(name, key, f"{value:,.3f}" if isinstance(value, float) else f"{value:,}")
        table.add_row(name, "(benchmark wall time s)", f"{time.monotonic() - started:,.1f}")
        table.add_section()
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    Console().print(table)
    print(f"wrote {RESULTS.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
