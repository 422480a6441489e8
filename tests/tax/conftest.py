"""Tax tests: fixtures shared by the folder (helpers live in tax_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def shared_prices() -> Path:
    """The shared reference price data, or a clean skip when this checkout has none."""
    prices = SHARED_DATA / "prices"
    if not prices.is_dir():
        pytest.skip(
            f"shared reference data not found at {prices} (read-only data outside the repo)"
        )
    return prices
