"""keeper.tax is pure: no I/O library and none of the keeper's adapters (CONTRIBUTING)."""

import ast
from pathlib import Path

import pytest

import keeper.tax

FORBIDDEN = ("web3", "ccxt", "httpx", "sqlite3", "requests", "socket", "subprocess")
ADAPTERS = (
    "keeper.chain",
    "keeper.venues",
    "keeper.relays",
    "keeper.quotes",
    "keeper.store",
    "keeper.cli",
)
PACKAGE = Path(keeper.tax.__file__).resolve().parent


def imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def offenders(source: str) -> list[str]:
    return sorted(
        name
        for name in imported_modules(source)
        if name.split(".")[0] in FORBIDDEN or name.startswith(ADAPTERS)
    )


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_tax_module__imports__no_io_library_or_adapter(path):
    assert offenders(path.read_text()) == []


def test_purity_check__module_importing_httpx__caught():
    assert offenders("import httpx\nfrom keeper.store.journal import Journal\n") == [
        "httpx",
        "keeper.store.journal",
    ]


def test_tax_modules__no_open_or_clock_calls():
    # Pure also means no file reads and no clock: callers pass text and times in.
    for path in PACKAGE.glob("*.py"):
        source = path.read_text()
        for needle in ("open(", "datetime.now(", "time.time(", "date.today("):
            assert needle not in source, f"{path.name} calls {needle}"
