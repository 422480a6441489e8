"""Load `keeper.yaml` (or seed 001's `portfolio_rebalancer` YAML) into a validated config and the
core's `PortfolioSpec`, or fail with ONE line: `file:line: field.path: what is wrong and the fix`.

The YAML is read with ruamel.yaml in round-trip mode, which remembers the line of every key;
pydantic errors and semantic issues carry a path, which is walked through the document to find
the line to blame. Reading the file is the only I/O here: nothing touches the network, so a bad
config fails before any RPC, exchange or broker is contacted.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from keeper.config import seed001
from keeper.config.compile import to_spec
from keeper.config.models import KeeperConfig
from keeper.config.schedule import Schedule, parse_schedule
from keeper.config.semantics import check, did_you_mean
from keeper.core.spec import PortfolioSpec
from keeper.errors import ConfigError
from keeper.secrets import redact

PathT = tuple[str | int, ...]
_SECRET_KEY = re.compile(
    r"(?i)(api[_-]?key|secret|private[_-]?key|password|passphrase|mnemonic|seed[_-]?phrase)"
)
_TYPE_NAMES = {"str", "int", "bool", "float", "dict", "list", "decimal", "none", "nonetype"}
_TYPE_ERRORS = {
    "string_type",
    "int_type",
    "dict_type",
    "model_type",
    "model_attributes_type",
    "bool_type",
    "decimal_type",
    "list_type",
    "is_instance_of",
    "float_type",
    "none_required",
}


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and everything derived from it.

    `format` is "keeper" or "seed001"; `notes` are things the operator should know (translation
    assumptions). Relative paths in the config are resolved against the config's directory.
    """

    path: Path
    model: KeeperConfig
    spec: PortfolioSpec
    schedule: Schedule | None
    format: str = "keeper"
    notes: tuple[str, ...] = field(default=())

    def resolve(self, relative: str) -> Path:
        p = Path(relative).expanduser()
        return p if p.is_absolute() else (self.path.parent / p).resolve()


def yaml_rt() -> YAML:
    """The round-trip YAML reader/writer: keeps comments, order and line numbers."""
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    return y


def load_config(path: str | Path) -> LoadedConfig:
    """Read, validate and compile `path`; ConfigError (one line) on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: config file not found: pass --config PATH (see examples/keeper.yaml)"
        ) from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the config: {e.strerror}") from None
    return load_config_text(text, p)


def load_config_text(text: str, path: str | Path) -> LoadedConfig:
    """Validate YAML `text` as if read from `path` (used before writing an edited config)."""
    p = Path(path)
    doc = parse_yaml(text, p)
    if isinstance(doc, dict) and seed001.ROOT in doc:
        return _load_seed001(doc, p)
    model = validate(doc, p)
    spec = to_spec(model)
    schedule = parse_schedule(model.schedule) if model.schedule is not None else None
    notes = (
        ()
        if model.enabled
        else ("enabled is false: the keeper decides and journals but never executes",)
    )
    return LoadedConfig(path=p.resolve(), model=model, spec=spec, schedule=schedule, notes=notes)


def parse_yaml(text: str, path: Path) -> Any:
    try:
        doc = yaml_rt().load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = (e.problem or e.context or "invalid YAML").strip()
        raise ConfigError(
            f"{path}:{line}: YAML syntax error: {what}: fix the indentation or quoting on that line"
        ) from None
    except YAMLError as e:
        raise ConfigError(f"{path}:1: YAML error: {str(e).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise ConfigError(
            f"{path}:1: expected a mapping at the top level (treasury:, venues:, classes: ...)"
        )
    return doc


def validate(doc: Any, path: Path) -> KeeperConfig:
    """pydantic + semantic checks of a parsed keeper.yaml document."""
    try:
        model = KeeperConfig.model_validate(to_plain(doc))
    except ValidationError as e:
        raise _from_pydantic(e, doc, path, KeeperConfig) from None
    issues = check(model)
    if issues:
        raise _first(doc, path, [(i.path, i.message) for i in issues])
    return model


def _load_seed001(doc: Any, path: Path) -> LoadedConfig:
    try:
        seed = seed001.Seed001File.model_validate(to_plain(doc)).portfolio_rebalancer
    except ValidationError as e:
        raise _from_pydantic(e, doc, path, seed001.Seed001File) from None
    translated = seed001.translate(seed)
    try:
        model = KeeperConfig.model_validate(translated)
    except ValidationError as e:
        located = [
            (seed001.seed_path(_clean(err["loc"], translated)), _message(err, KeeperConfig))
            for err in e.errors()
        ]
        raise _first(doc, path, located) from None
    issues = check(model)
    if issues:
        raise _first(doc, path, [(seed001.seed_path(i.path), i.message) for i in issues])
    schedule = parse_schedule(model.schedule) if model.schedule is not None else None
    return LoadedConfig(
        path=path.resolve(),
        model=model,
        spec=to_spec(model),
        schedule=schedule,
        format="seed001",
        notes=seed001.translation_notes(seed),
    )


# --- plain values ---------------------------------------------------------------------------


def to_plain(node: Any) -> Any:
    """ruamel's round-trip types -> plain dict/list/str/int/float/bool (floats stay floats here;
    `keeper.config.values` reads them through their decimal text)."""
    if isinstance(node, dict):
        return {to_plain(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (datetime, date)):
        return node.isoformat()
    return node


# --- errors -------------------------------------------------------------------------------------


def line_of(doc: Any, path: PathT) -> int:
    """1-based line of the deepest node of `path` present in `doc` (the parent for a missing "
    "key)."""
    line = 1
    node = doc
    for key in path:
        if isinstance(node, dict) and key in node:
            try:
                line = node.lc.key(key)[0] + 1
            except (AttributeError, KeyError, TypeError):
                pass
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            try:
                line = node.lc.item(key)[0] + 1
            except (AttributeError, KeyError, TypeError, IndexError):
                pass
            node = node[key]
        else:
            break
    return line


def dotted(path: PathT) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out or "(top level)"


def _first(doc: Any, path: Path, issues: list[tuple[PathT, str]]) -> ConfigError:
    ranked = sorted(
        ((line_of(doc, p), i, p, m) for i, (p, m) in enumerate(issues)), key=lambda x: (x[0], x[1])
    )
    line, _, where, message = ranked[0]
    more = f" (+{len(ranked) - 1} more)" if len(ranked) > 1 else ""
    # redact the message (it may echo a value), not the path (it names the offending key)
    text = f"{path}:{line}: {dotted(where)}: {redact(message)}{more}"
    return ConfigError(" ".join(text.split()))


def _clean(loc: tuple, doc: Any) -> PathT:
    """pydantic's loc without union-branch tags, following the document where it can."""
    out: list[str | int] = []
    node = doc
    for k in loc:
        if isinstance(node, dict) and k in node:
            out.append(k)
            node = node[k]
        elif isinstance(node, list) and isinstance(k, int) and 0 <= k < len(node):
            out.append(k)
            node = node[k]
        elif isinstance(k, str) and re.fullmatch(r"[a-z_][a-z0-9_]*", k) and k not in _TYPE_NAMES:
            out.append(k)
            node = None
    return tuple(out)


def _from_pydantic(e: ValidationError, doc: Any, path: Path, root: type[BaseModel]) -> ConfigError:
    errors = _typos_over_missing(e.errors())
    groups: dict[PathT, list[dict]] = {}
    for err in errors:
        groups.setdefault(_clean(err["loc"], doc), []).append(err)
    located = []
    for where, errs in groups.items():
        informative = [x for x in errs if x["type"] not in _TYPE_ERRORS] or errs
        if len(informative) > 1 and all(x["type"] in _TYPE_ERRORS for x in informative):
            kinds = sorted({_message(x, root).removeprefix("must be ") for x in informative})
            located.append((where, "must be " + " or ".join(kinds)))
            continue
        located.append((where, _message(informative[0], root)))
    return _first(doc, path, located)


def _typos_over_missing(errors: list[dict]) -> list[dict]:
    """A missing field next to an unknown key that looks like it is a typo: report the typo only
    (its line is where the user's mistake is)."""
    extra = [x for x in errors if x["type"] == "extra_forbidden"]
    out = []
    for err in errors:
        if err["type"] == "missing" and err["loc"]:
            parent, name = err["loc"][:-1], str(err["loc"][-1])
            if any(
                x["loc"][:-1] == parent
                and difflib.get_close_matches(str(x["loc"][-1]), [name], n=1)
                for x in extra
            ):
                continue
        out.append(err)
    return out


def _message(err: dict, root: type[BaseModel]) -> str:
    t = err["type"]
    ctx = err.get("ctx") or {}
    loc = err["loc"]
    key = loc[-1] if loc else ""
    if t == "missing":
        return f"required: add {key}:"
    if t == "extra_forbidden":
        if _SECRET_KEY.search(str(key)):
            return (
                "credentials never live in keeper.yaml: delete this key and set the value in the "
                "environment (name the variable with credentials_env or rpc_url_env)"
            )
        allowed = _fields_at(root, loc[:-1])
        return (
            f"unknown key {key!r}{did_you_mean(str(key), allowed)}"
            if allowed
            else f"unknown key {key!r}: remove it"
        )
    if t == "literal_error":
        return f"must be one of {ctx.get('expected', '')}".replace("'", "")
    if t in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    if t == "string_pattern_mismatch":
        return "must be the NAME of an environment variable (A-Z, 0-9, _), never the value itself"
    bounds = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    if t in bounds:
        op, name = bounds[t]
        return f"must be {op} {ctx.get(name)}"
    if t in ("too_short",):
        return "needs at least one entry"
    if t in ("too_long", "string_too_long"):
        return "is too long"
    if t == "string_too_short":
        return "must not be empty"
    if t in ("int_parsing", "int_type", "int_from_float"):
        return "must be a whole number"
    if t in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if t in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping (key: value lines)"
    if t == "list_type":
        return "must be a list (- item lines)"
    if t == "string_type":
        return "must be text"
    if t in ("decimal_parsing", "decimal_type", "float_parsing", "float_type"):
        return "must be a number"
    return err["msg"]


def _fields_at(root: type[BaseModel], loc: tuple) -> set[str]:
    """Field names of the model that `loc` points into (for "did you mean")."""
    t: Any = root
    for k in loc:
        t = _unwrap(t)
        if isinstance(t, type) and issubclass(t, BaseModel):
            if k in t.model_fields:
                t = t.model_fields[k].annotation
            continue
        origin = typing.get_origin(t)
        if origin in (dict, list):
            t = typing.get_args(t)[-1]
    t = _unwrap(t)
    if isinstance(t, type) and issubclass(t, BaseModel):
        return set(t.model_fields)
    return set()


def _unwrap(t: Any) -> Any:
    for _ in range(5):
        origin = typing.get_origin(t)
        if origin is typing.Annotated:
            t = typing.get_args(t)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(t) if a is not type(None)]
            models = [a for a in members if isinstance(a, type) and issubclass(a, BaseModel)]
            containers = [a for a in members if typing.get_origin(a) in (dict, list)]
            t = (models or containers or members)[0]
            continue
        break
    return t
