"""`keeper tax`: open lots and the year's realised gains from a lots CSV.

Parse the options, read the file, call `keeper.tax`, print with rich. Nothing else lives here:
the rules, the replay and the report rows are in the pure package. The lots come from
`--lots FILE` (format: docs/tax-lots-csv.md) until the journal becomes the source.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table

from keeper.cli._common import console as shared_console
from keeper.errors import ConfigError
from keeper.money import round_usd
from keeper.tax import csv_import, reports
from keeper.tax.jurisdictions import TaxProfile, profile_for
from keeper.tax.ledger import LedgerResult, replay
from keeper.tax.model import LotPolicy

JURISDICTIONS = ("us", "de", "uk", "eu")
POLICIES = tuple(p.value for p in LotPolicy)


@click.group("tax")
def tax() -> None:
    """Tax lots and realised gains (from a lots CSV)."""


def _common(f):
    f = click.option(
        "--crypto-wash-sale",
        is_flag=True,
        help="US: apply the wash-sale rule to crypto too (not current law).",
    )(f)
    f = click.option(
        "--policy", type=click.Choice(POLICIES), help="Lot method, where the law allows a choice."
    )(f)
    f = click.option(
        "--jurisdiction",
        "-j",
        type=click.Choice(JURISDICTIONS),
        default="us",
        show_default=True,
        help="Tax rules.",
    )(f)
    f = click.option(
        "--lots",
        "lots_file",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Lot history CSV (docs/tax-lots-csv.md).",
    )(f)
    return f


@tax.command("lots")
@_common
@click.option("--as-of", "as_of", help="Replay only events up to this date (YYYY-MM-DD).")
@click.option("--asset", help="Show one asset only.")
@click.option(
    "--price", "prices", multiple=True, metavar="ASSET=PRICE", help="Price per token to show gains."
)
def lots_command(lots_file, jurisdiction, policy, crypto_wash_sale, as_of, asset, prices) -> None:
    """Open lots after replaying the history (UK: the Section 104 pools)."""
    profile = _profile(jurisdiction, crypto_wash_sale)
    until = _end_of_day(as_of, profile) if as_of else None
    result = _replay(lots_file, profile, policy, until)
    price_of = _prices(prices)
    when = until or datetime.now(ZoneInfo(profile.timezone))
    table = Table(title=f"Open lots ({profile.code}, {profile.currency})")
    for column in (
        "lot",
        "asset",
        "account",
        "quantity",
        "cost basis",
        "unit cost",
        "held since",
        "term",
    ):
        table.add_column(
            column, justify="right" if column in ("quantity", "cost basis", "unit cost") else "left"
        )
    if price_of:
        table.add_column("value", justify="right")
        table.add_column("gain", justify="right")
    shown = [lot for lot in result.lots if asset is None or lot.asset == asset]
    for lot in shown:
        category = profile.category(lot.kind, lot.holding_since, when)
        row = [
            lot.lot_id,
            lot.asset,
            lot.account,
            f"{lot.tokens.normalize():f}",
            _money(lot.cost_basis),
            _money(lot.unit_cost),
            profile.local_date(lot.holding_since).isoformat(),
            category.value.replace("_", " "),
        ]
        if price_of:
            price = price_of.get(lot.asset)
            row += (
                [_money(lot.value(price)), _money(lot.value(price) - lot.cost_basis)]
                if price
                else ["", ""]
            )
        table.add_row(*row)
    console = _console()
    console.print(table)
    if not shown:
        console.print("no open lots" + (f" of {asset}" if asset else ""))


@tax.command("report")
@_common
@click.option(
    "--year", required=True, type=int, help="Tax year (UK: the year it starts in, 6 April)."
)
@click.option(
    "--form-8949",
    "form_8949",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="US: write Form 8949 rows as CSV to this file ('-' for stdout).",
)
def report_command(lots_file, jurisdiction, policy, crypto_wash_sale, year, form_8949) -> None:
    """Realised gains of a tax year by category, wash-sale adjustments, estimated tax."""
    profile = _profile(jurisdiction, crypto_wash_sale)
    result = _replay(lots_file, profile, policy, None)
    report = reports.year_report(result.realised, profile, year)
    if form_8949 is not None:
        text = reports.form_8949_csv(reports.form_8949_rows(result.realised, profile, year))
        if str(form_8949) == "-":
            click.echo(text, nl=False)
            return
        form_8949.write_text(text)
    console = _console()
    table = Table(
        title=f"Realised {year} ({report.period[0]} to {report.period[1]}, "
        f"{profile.code}, {profile.currency})"
    )
    for column in ("category", "lines", "proceeds", "cost basis", "wash-sale disallowed", "gain"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for c in report.categories:
        table.add_row(
            c.category.value.replace("_", " "),
            str(c.count),
            _money(c.proceeds),
            _money(c.cost_basis),
            _money(c.wash_disallowed),
            _money(c.gain),
        )
    table.add_row(
        "total",
        str(len(report.lines)),
        "",
        "",
        _money(report.wash_disallowed),
        _money(report.net_gain),
    )
    console.print(table)
    console.print(
        f"estimated tax: {_money(report.estimated_tax)} {profile.currency} "
        "(marginal rates are settings; see keeper.tax.jurisdictions)"
    )
    if result.wash_adjustments:
        console.print(f"wash-sale adjustments carried into lots: {len(result.wash_adjustments)}")
    if form_8949 is not None:
        console.print(f"Form 8949 rows written to {form_8949}")


def _profile(jurisdiction: str, crypto_wash_sale: bool) -> TaxProfile:
    if crypto_wash_sale and jurisdiction != "us":
        raise ConfigError("--crypto-wash-sale applies to the US profile only; drop it or use -j us")
    return profile_for(jurisdiction, **({"crypto_wash_sale": True} if crypto_wash_sale else {}))


def _replay(
    path: Path, profile: TaxProfile, policy: str | None, until: datetime | None
) -> LedgerResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"--lots {path}: cannot read it ({e.__class__.__name__}); check the path and encoding"
        ) from e
    events = csv_import.parse_lots_csv(text, source=path.name, timezone=profile.timezone)
    return replay(events, profile, policy=LotPolicy(policy) if policy else None, until=until)


def _prices(pairs: tuple[str, ...]) -> dict[str, Decimal]:
    prices: dict[str, Decimal] = {}
    for pair in pairs:
        asset, _, value = pair.partition("=")
        try:
            prices[asset.strip()] = Decimal(value)
        except InvalidOperation:
            raise ConfigError(f"--price {pair}: write ASSET=PRICE, e.g. BTC=64000.50") from None
        if not asset.strip() or not prices[asset.strip()].is_finite() or prices[asset.strip()] <= 0:
            raise ConfigError(
                f"--price {pair}: write ASSET=PRICE with a positive price, e.g. BTC=64000.50"
            )
    return prices


def _end_of_day(value: str, profile: TaxProfile) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--as-of {value}: write a date like 2024-12-31") from None
    return datetime.combine(day, time.max, tzinfo=ZoneInfo(profile.timezone))


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when output goes to a pipe or file."""
    return shared_console()


def _money(value: Decimal) -> str:
    return f"{round_usd(value):,.2f}"
