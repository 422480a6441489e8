"""Safe edits of the config file: `set_target` changes one asset's target and keeps the file a
valid config.

How it stays safe:

- the YAML is edited in round-trip mode, so comments, key order and quoting survive;
- percentage targets must still add up to 100%: the change is taken from one named asset
  (`take_from`) or spread over all the others in proportion (`scale_others`); without either, an
  edit that breaks the sum is refused with the fix;
- class targets that are written out are updated to the new sum of their assets;
- the new text is validated with the same loader as `keeper config check` *before* anything is
  written; the old file is kept as `<file>.bak`; the new file replaces the old one atomically.

Works on keeper.yaml (`classes.*.assets.ASSET.target`) and on seed 001's YAML
(`portfolio_rebalancer.targets.ASSET`).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from keeper.config import seed001
from keeper.config.loader import LoadedConfig, load_config_text, parse_yaml, yaml_rt
from keeper.config.semantics import did_you_mean
from keeper.config.values import TargetValue, parse_target
from keeper.errors import ConfigError

ZERO = Decimal(0)
STEP = Decimal("0.0001")  # scaled targets are rounded to 0.01 percentage points


@dataclass(frozen=True)
class TargetChange:
    asset: str
    old: str
    new: str


@dataclass(frozen=True)
class EditResult:
    changes: tuple[TargetChange, ...]
    backup: Path
    config: LoadedConfig


def parse_new_target(value: str, percent: bool) -> TargetValue:
    """The CLI's value: "45%", "$12,000", or a bare number, read as % when targets are in %."""
    v = value.strip()
    if percent and v.replace(".", "", 1).isdigit():
        v += "%"
    try:
        return parse_target(v)
    except ValueError as e:
        raise ConfigError(f"target {value!r}: {e}") from None


def set_target(
    path: str | Path,
    asset: str,
    value: str,
    *,
    take_from: str | None = None,
    scale_others: bool = False,
) -> EditResult:
    """Set `asset`'s target to `value` and write the file back (see the module docstring)."""
    if take_from and scale_others:
        raise ConfigError("set-target: choose --take-from ASSET or --scale-others, not both")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found: pass --config PATH") from None
    load_config_text(text, p)  # refuse to edit a file that is already invalid: fix it first
    doc = parse_yaml(text, p)
    slots = _target_slots(doc)
    if asset not in slots:
        raise ConfigError(f"set-target: unknown asset {asset!r}{did_you_mean(asset, set(slots))}")
    if take_from is not None and take_from not in slots:
        raise ConfigError(

                f"set-target: --take-from {take_from!r} is not an "
                f"asset{did_you_mean(take_from, set(slots))}"

        )
    if take_from == asset:
        raise ConfigError("set-target: --take-from must name another asset")
    current = {a: parse_target(_get(doc, path_)) for a, path_ in slots.items()}
    percent = all(t.percent is not None for t in current.values())
    new = parse_new_target(value, percent)
    if (new.percent is not None) != percent:
        unit = "percentages like 25%" if percent else "USD amounts like $20,000"
        raise ConfigError(
            f"set-target: the targets in this file are {unit}: write {asset}'s the same way"
        )
    values = {a: (t.percent if percent else t.usd) for a, t in current.items()}
    target = new.percent if percent else new.usd
    if target < 0 or (percent and target > 1):
        raise ConfigError(
            f"set-target: {value!r} is out of range: use 0%..100%"
            if percent
            else f"set-target: {value!r} must be >= $0"
        )
    updated = dict(values)
    updated[asset] = target
    delta = target - values[asset]
    if take_from:
        updated[take_from] = values[take_from] - delta
        if updated[take_from] < 0:
            raise ConfigError(

                    f"set-target: {take_from} has only {_fmt(values[take_from], percent)} to give: "
                    f"choose another asset or --scale-others"

            )
    elif scale_others and delta:
        updated = _scale(values, asset, target, percent)
    if percent:
        total = sum(updated.values(), ZERO)
        if total != 1:
            raise ConfigError(
                f"set-target: targets would add up to {_fmt(total, True)}, not 100%: "
                "pass --take-from ASSET or --scale-others (or edit the file by hand)"
            )
    changes = []
    for a, v in updated.items():
        if v != values[a]:
            _set(doc, slots[a], _fmt(v, percent))
            changes.append(TargetChange(a, _fmt(values[a], percent), _fmt(v, percent)))
    _sync_class_targets(doc, updated, percent)
    buf = io.StringIO()
    writer = yaml_rt()
    mapping, offset = _guess_indent(text)
    writer.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    writer.dump(doc, buf)
    new_text = buf.getvalue()
    loaded = load_config_text(new_text, p)  # raises before anything is written
    backup = p.with_name(p.name + ".bak")
    shutil.copy2(p, backup)
    _atomic_write(p, new_text)
    return EditResult(tuple(changes), backup, loaded)


def _guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, dash offset of block sequences) as the file writes them, so an edit
    changes only the lines it must."""
    mapping, offset = None, None
    prev_key_col = None
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        col = len(line) - len(stripped)
        if stripped.startswith("- "):
            if offset is None and prev_key_col is not None:
                offset = max(col - prev_key_col, 0)
            continue
        if mapping is None and col > 0 and prev_key_col is not None and col > prev_key_col:
            mapping = col - prev_key_col
        if stripped.rstrip().endswith(":") or ": " in stripped:
            prev_key_col = col
    return mapping or 2, offset if offset is not None else 0


def _target_slots(doc: Any) -> dict[str, tuple]:
    if seed001.ROOT in doc:
        targets = doc[seed001.ROOT].get("targets") or {}
        return {a: (seed001.ROOT, "targets", a) for a in targets}
    out = {}
    for cname, c in (doc.get("classes") or {}).items():
        for aname in c.get("assets") or {}:
            out[aname] = ("classes", cname, "assets", aname, "target")
    return out


def _get(doc: Any, path: tuple) -> Any:
    node = doc
    for k in path:
        node = node[k]
    return node


def _set(doc: Any, path: tuple, value: str) -> None:
    parent = _get(doc, path[:-1])
    parent[path[-1]] = value


def _scale(
    values: dict[str, Decimal], asset: str, target: Decimal, percent: bool
) -> dict[str, Decimal]:
    """Spread the change over the other assets in proportion to their targets."""
    others = {a: v for a, v in values.items() if a != asset}
    base = sum(others.values(), ZERO)
    out = {asset: target}
    if not percent:
        return {**values, asset: target}
    room = 1 - target
    if base <= 0:
        raise ConfigError("set-target: --scale-others needs other assets with non-zero targets")
    for a, v in others.items():
        out[a] = (v * room / base).quantize(STEP, rounding=ROUND_HALF_EVEN)
    rest = 1 - sum(out.values(), ZERO)
    largest = max(others, key=lambda a: (others[a], a))
    out[largest] += rest
    if out[largest] < 0:
        raise ConfigError("set-target: cannot scale the others to make room")
    return out


def _sync_class_targets(doc: Any, updated: dict[str, Decimal], percent: bool) -> None:
    if seed001.ROOT in doc:
        return
    for c in (doc.get("classes") or {}).values():
        if "target" in c:
            total = sum((updated[a] for a in (c.get("assets") or {})), ZERO)
            c["target"] = _fmt(total, percent)


def _fmt(v: Decimal, percent: bool) -> str:
    if percent:
        return f"{(v * 100).normalize():f}%"
    return f"${v.normalize():,f}"


def _atomic_write(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["EditResult", "TargetChange", "parse_new_target", "set_target"]
