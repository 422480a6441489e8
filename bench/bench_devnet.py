"""Devnet start-up: a cold deploy of every protocol, and a warm start from the cached state."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from keeper.devnet.devnet import Devnet, build_state


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cold = build_state(Path(tmp) / "state")
    Devnet.start().stop()  # make sure the cache exists before timing warm starts
    warm = []
    for _ in range(5):
        started = time.monotonic()
        net = Devnet.start()
        assert net.w3.eth.block_number > 0
        warm.append(time.monotonic() - started)
        net.stop()
    return {
        "devnet_cold_deploy_s": round(cold, 3),
        "devnet_warm_start_median_s": round(statistics.median(warm), 3),
    }
