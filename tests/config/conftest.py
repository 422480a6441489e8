from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "keeper.yaml"
HOLDINGS = REPO / "examples" / "demo-holdings.yaml"


@pytest.fixture
def example_text() -> str:
    return EXAMPLE.read_text()


@pytest.fixture
def config_copy(tmp_path) -> Path:
    """A writable copy of the example config (with its static holdings beside it)."""
    (tmp_path / "demo-holdings.yaml").write_text(HOLDINGS.read_text())
    path = tmp_path / "keeper.yaml"
    path.write_text(EXAMPLE.read_text())
    return path
