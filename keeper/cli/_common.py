"""What the commands share: the --config/--static/--now options, loading the config, reading a
snapshot through the venue readers, and the console."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console

from keeper.config import LoadedConfig, load_config
from keeper.core.portfolio import Snapshot
from keeper.venues.base import VenueReading, read_snapshot
from keeper.venues.factory import make_readers

DEFAULT_CONFIG = "keeper.yaml"


def config_option(f):
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=lambda: os.environ.get("KEEPER_CONFIG", DEFAULT_CONFIG),
        show_default="keeper.yaml or $KEEPER_CONFIG",
        help="The keeper config file.",
    )(f)


def snapshot_options(f):
    f = click.option(
        "--static",
        "static",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Read every venue's balances and prices from this file instead of the venues.",
    )(f)
    f = click.option(
        "--now",
        "now",
        type=int,
        default=None,
        hidden=True,
        help="Unix time to decide at (tests, replays). Default: the clock.",
    )(f)
    return f


def console() -> Console:
    """Rich output: the terminal's width on a terminal; 160 columns when piped or logged, so
    tables stay whole in CI logs and files."""
    out = Console(highlight=False, soft_wrap=False)
    return out if out.is_terminal else Console(highlight=False, soft_wrap=False, width=160)


@dataclass(frozen=True)
class Loaded:
    config: LoadedConfig
    snapshot: Snapshot
    readings: tuple[VenueReading, ...]
    now: int


def load_and_read(config_path: Path, static: Path | None, now: int | None) -> Loaded:
    """Load the config (one-line error on any problem, before any network), then read."""
    cfg = load_config(config_path)
    at = now if now is not None else int(time.time())
    readers = make_readers(cfg, static)
    snap, readings = read_snapshot(readers, cfg.spec, at)
    return Loaded(cfg, snap, readings, at)


def next_run_text(cfg: LoadedConfig, now: int) -> str | None:
    if cfg.schedule is None:
        return None
    nxt = cfg.schedule.next_after(datetime.fromtimestamp(now, tz=UTC))
    local = nxt.astimezone(__import__("zoneinfo").ZoneInfo(cfg.schedule.tz))
    return local.strftime(f"%a %Y-%m-%d %H:%M {cfg.schedule.tz}")
