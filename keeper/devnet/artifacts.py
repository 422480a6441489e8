"""Contract artifacts: the protocols' published bytecode (npm) and our Vyper contracts (compiled).

npm packages ship artifacts in three shapes (Hardhat, Waffle `build/`, Chainlink's 0x-artifacts);
`npm_artifact` reads them all into one `Artifact`. Libraries are linked by name with `link`.
`vyper_artifact` compiles a `.vy` file with the pinned Vyper, resolving `snekmate` from the
installed package, and caches the result in `.build/` keyed by the compiler and every source it
could import, so a second call costs a file read.

This module never talks to a chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from keeper.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / "node_modules"
BUILD_DIR = REPO_ROOT / ".build"
CONTRACTS_DIR = REPO_ROOT / "contracts"


@dataclass(frozen=True)
class Artifact:
    """ABI and creation bytecode of one contract; `links` names unresolved library placeholders."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # hex, 0x-prefixed; may hold link placeholders until `link` fills them
    links: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # library -> [(start, length)] in bytes

    def link(self, libraries: dict[str, str]) -> Artifact:
        """Fill every library placeholder with its deployed address."""
        missing = set(self.links) - set(libraries)
        if missing:
            raise ValueError(f"{self.name}: link these libraries first: {', '.join(sorted(missing))}")
        code = list(self.bytecode[2:])  # hex digits; placeholders like __$...$__ are not hex
        for library, places in self.links.items():
            address = libraries[library].lower().removeprefix("0x")
            for start, length in places:
                code[2 * start : 2 * (start + length)] = address
        return Artifact(self.name, self.abi, "0x" + "".join(code))


def _require_node_modules() -> None:
    if not NODE_MODULES.is_dir():
        raise ConfigError("node_modules/ is missing: run `make install` (needs npm) in the repository root")


@cache
def npm_artifact(relative_path: str) -> Artifact:
    """Load an artifact from `node_modules/<relative_path>` (any of the three npm shapes)."""
    _require_node_modules()
    path = NODE_MODULES / relative_path
    if not path.is_file():
        raise ConfigError(f"artifact {relative_path} not found in node_modules: run `make install`")
    raw = json.loads(path.read_text())
    name = raw.get("contractName") or path.stem
    if "compilerOutput" in raw:  # Chainlink 0.1.x: 0x sol-compiler artifacts
        out = raw["compilerOutput"]
        return Artifact(name, out["abi"], _hex(out["evm"]["bytecode"]["object"]))
    if isinstance(raw.get("bytecode"), str) and "linkReferences" in raw:  # Hardhat
        links = {
            lib: [(ref["start"], ref["length"]) for ref in refs]
            for libs in raw["linkReferences"].values()
            for lib, refs in libs.items()
        }
        return Artifact(name, raw["abi"], _hex(raw["bytecode"]), links)
    if "evm" in raw:  # Waffle build/ (Uniswap V2, WETH9)
        return Artifact(name, raw["abi"], _hex(raw["evm"]["bytecode"]["object"]))
    raise ValueError(f"{relative_path}: unknown artifact format")


def _hex(code: str) -> str:
    return code if code.startswith("0x") else "0x" + code


def vyper_artifact(path: Path | str) -> Artifact:
    """Compile a Vyper file (cached in `.build/vyper/`), resolving imports from `contracts/` and
    the installed packages (snekmate)."""
    path = Path(path).resolve()
    key = _vyper_cache_key(path)
    cached = BUILD_DIR / "vyper" / f"{path.stem}-{key}.json"
    if cached.is_file():
        data = json.loads(cached.read_text())
        return Artifact(data["name"], data["abi"], data["bytecode"])
    try:
        from vyper.cli.vyper_compile import compile_files
    except ImportError as e:  # the keeper's runtime does not need the compiler
        raise ConfigError("the Vyper compiler is not installed: run `make install` (dev dependencies)") from e
    search = [str(CONTRACTS_DIR)] if CONTRACTS_DIR.is_dir() else []
    out = compile_files([str(path)], ("abi", "bytecode"), paths=search, include_sys_path=True)
    result = next(iter(out.values()))
    artifact = Artifact(path.stem, result["abi"], _hex(result["bytecode"]))
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps({"name": artifact.name, "abi": artifact.abi, "bytecode": artifact.bytecode}))
    tmp.replace(cached)
    return artifact


def _vyper_cache_key(path: Path) -> str:
    """Hash of the compiler version, the file, and every Vyper source it could import."""
    import vyper

    digest = hashlib.sha256(vyper.__version__.encode())
    digest.update(path.read_bytes())
    for root in _import_roots():
        for source in sorted(root.rglob("*.vy*")):
            digest.update(str(source.relative_to(root)).encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


@cache
def _import_roots() -> tuple[Path, ...]:
    roots = [CONTRACTS_DIR] if CONTRACTS_DIR.is_dir() else []
    try:
        import snekmate

        roots.extend(Path(p) for p in snekmate.__path__)
    except ImportError:
        pass
    return tuple(roots)
