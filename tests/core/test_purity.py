"""The pure packages never import I/O libraries or the keeper's I/O packages.

Each pure package is imported, module by module, in a fresh interpreter, and `sys.modules` is
checked afterwards. The same checker is shown catching a deliberately impure package.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PURE = ["keeper.core", "keeper.config", "keeper.signals", "keeper.tax"]
FORBIDDEN = [
    "web3",
    "ccxt",
    "httpx",
    "sqlite3",
    "keeper.chain",
    "keeper.relays",
    "keeper.quotes",
    "keeper.store",
    "keeper.execution",
    "keeper.runner",
    "keeper.devnet",
]
# keeper.venues is I/O, except the interface and static-reader types the core may name
FORBIDDEN_VENUES_EXCEPT = ["keeper.venues", "keeper.venues.base", "keeper.venues.static"]

CHECKER = textwrap.dedent("""
    import importlib, json, pkgutil, sys
    packages, forbidden, allowed_venues = json.loads(sys.argv[1])
    found = {}
    for name in packages:
        try:
            pkg = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue  # that pure package does not exist on this branch yet
            raise
        modules = [name] + [m.name for m in pkgutil.walk_packages(pkg.__path__, name + ".")]
        for mod in modules:
            importlib.import_module(mod)
    bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden))
    bad += sorted(
        m for m in sys.modules if m.startswith("keeper.venues") and m not in allowed_venues
    )
    print(json.dumps(bad))
""")


def impure_modules(packages: list[str], extra_path: Path | None = None) -> list[str]:
    env_path = [str(REPO)] + ([str(extra_path)] if extra_path else [])
    code = f"import sys; sys.path[:0] = {env_path!r}\n" + CHECKER
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps([packages, FORBIDDEN, FORBIDDEN_VENUES_EXCEPT])],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_pure_packages__imported_whole__pull_in_no_io_module():
    assert impure_modules(PURE) == []


def test_purity_checker__impure_package__is_caught(tmp_path):
    pkg = tmp_path / "fakepure"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "leaky.py").write_text("import sqlite3\n")
    assert "sqlite3" in impure_modules(["fakepure"], tmp_path)
