"""Rules of `keeper.yaml` that span sections, each reported with the exact path to blame.

pydantic has already checked every field's type and range; this module checks what only the
whole file can tell: targets add up, names refer to things that exist, holdings fit their venue,
limits are satisfiable. `check` returns `Issue`s (path + message with the fix); the loader turns
the first one into a one-line `ConfigError` with the file and line.

This module must not do I/O.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal

from keeper.config.models import KeeperConfig
from keeper.config.schedule import parse_schedule

Path = tuple[str | int, ...]
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_CHAIN_REFS = ("token", "vault", "atoken", "native")
ZERO = Decimal(0)
HUNDRED = Decimal(1)


@dataclass(frozen=True, slots=True)
class Issue:
    path: Path
    message: str


def did_you_mean(name: str, options: list[str] | set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(options), n=1)
    return (
        f": did you mean {close[0]!r}?"
        if close
        else f" (known: {', '.join(sorted(options)) or 'none'})"
    )


def holding_id(venue: str, ref_kind: str, ref: str, explicit: str | None) -> str:
    """The default id of a holding: `venue:ref` (`devnet:USDC`, `devnet:vault_usdc_a`,
    `devnet:aUSDC`, `devnet:native`, `binance:BTC`)."""
    if explicit:
        return explicit
    return f"{venue}:{ref}"


def check(cfg: KeeperConfig) -> list[Issue]:
    """Every cross-section problem, in file order as far as the paths tell."""
    out: list[Issue] = []
    _venues(cfg, out)
    _assets(cfg, out)
    _targets(cfg, out)
    _limits(cfg, out)
    _schedule(cfg, out)
    return out


def _venues(cfg: KeeperConfig, out: list[Issue]) -> None:
    liquid_at: dict[str, set[str]] = {}
    for _cname, c in cfg.classes.items():
        for aname, a in c.assets.items():
            for h in a.holdings:
                if h.ref_kind in ("token", "symbol"):
                    liquid_at.setdefault(h.venue, set()).add(aname)
    for name, v in cfg.venues.items():
        p: Path = ("venues", name)
        if v.kind == "chain":
            if v.chain_id is None:
                out.append(
                    Issue(
                        p + ("chain_id",),
                        "a chain venue needs chain_id (1 for mainnet, 31337 for the devnet)",
                    )
                )
            for f in ("exchange", "broker"):
                if getattr(v, f) is not None:
                    out.append(
                        Issue(
                            p + (f,),
                            (
                                f"{f} belongs to {'cex' if f == 'exchange' else 'broker'} venues: "
                                f"remove it"
                            ),
                        )
                    )
        else:
            for f in ("chain_id", "rpc_url_env", "address_book", "account", "gas"):
                if getattr(v, f) is not None:
                    out.append(
                        Issue(
                            p + (f,),
                            f"{f} is for chain venues only: remove it from this {v.kind} venue",
                        )
                    )
            if v.kind == "cex" and not v.exchange:
                out.append(
                    Issue(
                        p + ("exchange",),
                        (
                            "a cex venue needs exchange (a ccxt id: binance, coinbase, kraken, "
                            "bybit, okx)"
                        ),
                    )
                )
            if v.kind == "cex" and v.broker is not None:
                out.append(Issue(p + ("broker",), "broker belongs to broker venues: remove it"))
            if v.kind == "broker" and not v.broker:
                out.append(
                    Issue(p + ("broker",), "a broker venue needs broker (alpaca, ibkr or mt5)")
                )
            if v.kind == "broker" and v.exchange is not None:
                out.append(Issue(p + ("exchange",), "exchange belongs to cex venues: remove it"))
        if isinstance(v.reader, str):
            fits = {"chain": "chain", "ccxt": "cex", "broker": "broker"}[v.reader]
            if fits != v.kind:
                out.append(
                    Issue(
                        p + ("reader",),
                        (
                            f"reader {v.reader!r} reads {fits} venues, not {v.kind}: use the "
                            f"default or {{static: FILE}}"
                        ),
                    )
                )
        pairing = v.pairing or ("direct" if v.kind == "chain" else "via_quote")
        if pairing == "via_quote" and not v.quote:
            out.append(
                Issue(
                    p + ("quote",),
                    "a via_quote venue needs quote: the asset its trades settle in (USDT, USD)",
                )
            )
        if v.quote and v.quote not in liquid_at.get(name, set()):
            held = liquid_at.get(name, set())
            out.append(
                Issue(
                    p + ("quote",),
                    (
                        f"quote {v.quote!r} must be an asset with a token/symbol holding on "
                        f"{name}{did_you_mean(v.quote, held)}"
                    ),
                )
            )


def _assets(cfg: KeeperConfig, out: list[Issue]) -> None:
    seen_asset: dict[str, str] = {}
    seen_id: dict[str, Path] = {}
    chain_venues = [n for n, v in cfg.venues.items() if v.kind == "chain"]
    for cname, c in cfg.classes.items():
        for aname, a in c.assets.items():
            ap: Path = ("classes", cname, "assets", aname)
            if aname in seen_asset:
                out.append(
                    Issue(
                        ap,
                        (
                            f"asset {aname!r} is also in class {seen_asset[aname]!r}: an asset "
                            f"belongs to one class (holdings go under it)"
                        ),
                    )
                )
            seen_asset[aname] = cname
            for i, h in enumerate(a.holdings):
                hp: Path = ap + ("holdings", i)
                venue = cfg.venues.get(h.venue)
                if venue is None:
                    out.append(
                        Issue(
                            hp + ("venue",),
                            f"unknown venue {h.venue!r}{did_you_mean(h.venue, set(cfg.venues))}",
                        )
                    )
                    continue
                if venue.kind == "chain" and h.ref_kind == "symbol":
                    out.append(
                        Issue(
                            hp + ("symbol",),
                            (
                                f"{h.venue} is a chain: name the holding with token, vault, atoken "
                                f"or native"
                            ),
                        )
                    )
                if venue.kind != "chain" and h.ref_kind in _CHAIN_REFS:
                    out.append(
                        Issue(
                            hp + (h.ref_kind,),
                            (
                                f"{h.venue} is a {venue.kind}: name the holding with symbol (e.g. "
                                f"symbol: {aname})"
                            ),
                        )
                    )
                if h.ref_kind in ("token", "vault", "atoken"):
                    ref = h.ref
                    if ref.lower().startswith("0x") and not _ADDRESS.match(ref):
                        out.append(
                            Issue(
                                hp + (h.ref_kind,),
                                f"{ref!r} is not an address: 0x followed by 40 hex digits",
                            )
                        )
                    elif not ref.lower().startswith("0x") and not _KEY.match(ref):
                        out.append(
                            Issue(
                                hp + (h.ref_kind,),
                                (
                                    f"{ref!r} is neither a 0x address nor an address-book key "
                                    f"(letters, digits, _ . -)"
                                ),
                            )
                        )
                hid = holding_id(h.venue, h.ref_kind, h.ref, h.id)
                if hid in seen_id:
                    out.append(
                        Issue(
                            hp, f"holding {hid!r} is declared twice: remove one or give each an id"
                        )
                    )
                seen_id[hid] = hp
            if a.price is not None:
                pp = ap + ("price",)
                if a.price.feed_venue is not None:
                    fv = cfg.venues.get(a.price.feed_venue)
                    if fv is None:
                        out.append(
                            Issue(
                                pp + ("feed_venue",),
                                (
                                    f"unknown venue {a.price.feed_venue!r}"
                                    + did_you_mean(a.price.feed_venue, set(cfg.venues))
                                ),
                            )
                        )
                    elif fv.kind != "chain":
                        out.append(
                            Issue(
                                pp + ("feed_venue",),
                                f"feeds live on chains; {a.price.feed_venue} is a {fv.kind}",
                            )
                        )
                    elif a.price.feed is None:
                        out.append(
                            Issue(
                                pp + ("feed",),
                                (
                                    "feed_venue without feed: name the feed "
                                    "(address-book key or 0x address)"
                                ),
                            )
                        )
                elif a.price.feed is not None and not chain_venues:
                    out.append(
                        Issue(
                            pp + ("feed",),
                            "a feed needs a chain venue to read it from: add one or use fixed",
                        )
                    )


def _targets(cfg: KeeperConfig, out: list[Issue]) -> None:
    kinds: dict[str, Path] = {}
    total = ZERO
    for cname, c in cfg.classes.items():
        csum = ZERO
        for aname, a in c.assets.items():
            tp: Path = ("classes", cname, "assets", aname, "target")
            kind = "percent" if a.target.percent is not None else "usd"
            value = a.target.percent if kind == "percent" else a.target.usd
            if value < 0:
                out.append(Issue(tp, "a target cannot be negative"))
            kinds.setdefault(kind, tp)
            csum += value
        if c.target is not None:
            ckind = "percent" if c.target.percent is not None else "usd"
            cval = c.target.percent if ckind == "percent" else c.target.usd
            kinds.setdefault(ckind, ("classes", cname, "target"))
            if cval != csum:
                shown = _show(csum, ckind)
                out.append(
                    Issue(
                        ("classes", cname, "target"),
                        (
                            f"class target {c.target} differs from the sum of its assets "
                            f"({shown}): fix one of them or drop the class target"
                        ),
                    )
                )
        total += csum
    if len(kinds) > 1:
        out.append(
            Issue(
                kinds["usd"],
                "targets mix percentages and USD amounts: write them all as % or all as $",
            )
        )
        return
    if "percent" in kinds and total != HUNDRED:
        gap = (HUNDRED - total) * 100
        out.append(
            Issue(
                ("classes",),
                (
                    f"asset targets add up to {_show(total, 'percent')}, not 100%: "
                    f"{'add' if gap > 0 else 'remove'} {abs(gap).normalize():f}%"
                ),
            )
        )
    if "usd" in kinds and total <= 0:
        out.append(
            Issue(
                ("classes",), "USD targets add up to $0: give at least one asset a positive target"
            )
        )


def _limits(cfg: KeeperConfig, out: list[Issue]) -> None:
    weights = target_weights(cfg)
    cap = cfg.limits.max_single_asset
    cash_classes = [n for n, c in cfg.classes.items() if c.cash]
    if cap is not None:
        for cname, c in cfg.classes.items():
            if c.cash:
                continue
            for aname in c.assets:
                if weights.get(aname, ZERO) > cap:
                    out.append(
                        Issue(
                            ("classes", cname, "assets", aname, "target"),
                            (
                                f"target {_show(weights[aname], 'percent')} is above "
                                f"limits.max_single_asset ({_show(cap, 'percent')}): "
                                "lower it or raise the limit"
                            ),
                        )
                    )
    reserve = cfg.limits.cash_reserve
    positive = (reserve.percent or ZERO) > 0 or (reserve.usd or ZERO) > 0
    if positive and not cash_classes:
        out.append(
            Issue(
                ("limits", "cash_reserve"),
                "a cash reserve needs a class with cash: true (stablecoins, broker USD)",
            )
        )
    elif reserve.percent is not None and reserve.percent > 1:
        out.append(Issue(("limits", "cash_reserve"), "the cash reserve cannot exceed 100%"))
    elif reserve.percent is not None and cash_classes:
        cash_target = sum(
            (weights.get(a, ZERO) for n in cash_classes for a in cfg.classes[n].assets), ZERO
        )
        if reserve.percent > cash_target:
            out.append(
                Issue(
                    ("limits", "cash_reserve"),
                    (
                        f"reserve {reserve} is above the cash classes' targets "
                        f"({_show(cash_target, 'percent')}): lower it or raise the cash targets"
                    ),
                )
            )
    if reserve.usd is not None and reserve.usd < 0:
        out.append(Issue(("limits", "cash_reserve"), "the cash reserve cannot be negative"))


def _schedule(cfg: KeeperConfig, out: list[Issue]) -> None:
    if cfg.schedule is not None:
        try:
            parse_schedule(cfg.schedule)
        except ValueError as e:
            out.append(Issue(("schedule",), str(e)))
    elif cfg.strategy.kind in ("calendar", "hybrid"):
        out.append(
            Issue(
                ("strategy", "kind"),
                (
                    f"the {cfg.strategy.kind} strategy needs a schedule: add e.g. "
                    'schedule: "weekly monday 09:00 UTC"'
                ),
            )
        )


def target_weights(cfg: KeeperConfig) -> dict[str, Decimal]:
    """Each asset's target as a fraction of the portfolio (USD targets are scaled by their sum)."""
    raw: dict[str, Decimal] = {}
    usd = False
    for c in cfg.classes.values():
        for aname, a in c.assets.items():
            if a.target.percent is not None:
                raw[aname] = a.target.percent
            else:
                usd = True
                raw[aname] = a.target.usd or ZERO
    if usd:
        total = sum(raw.values(), ZERO)
        return {k: (v / total if total > 0 else ZERO) for k, v in raw.items()}
    return raw


def _show(value: Decimal, kind: str) -> str:
    if kind == "percent":
        return f"{(value * 100).normalize():f}%"
    return f"${value:,}"
