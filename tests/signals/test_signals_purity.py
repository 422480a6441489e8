"""keeper.signals stays pure: no I/O library and no adapter package is imported there."""

import ast
from pathlib import Path

import pytest

SIGNALS = Path(__file__).resolve().parents[2] / "keeper" / "signals"
FORBIDDEN = ("web3", "ccxt", "httpx", "sqlite3", "requests", "eth_account", "ape")
ADAPTERS = ("keeper.chain", "keeper.venues", "keeper.relays", "keeper.quotes", "keeper.store")


def imported_modules(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def impure(names: set[str]) -> list[str]:
    return sorted(
        n
        for n in names
        if n.split(".")[0] in FORBIDDEN or any(n == a or n.startswith(a + ".") for a in ADAPTERS)
    )


@pytest.mark.parametrize("path", sorted(SIGNALS.glob("*.py")), ids=lambda p: p.name)
def test_signals_module__imports__no_io_library_or_adapter(path):
    assert impure(imported_modules(path.read_text())) == []


def test_impure__module_importing_web3_and_the_store__caught():
    assert impure(imported_modules("import web3\nfrom keeper.store.journal import x\n")) == [
        "keeper.store.journal",
        "web3",
    ]
