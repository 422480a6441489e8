"""Jurisdiction rules as data: US, DE, UK and a generic EU profile, each with its sources.

This module owns what the law says (holding periods, which lot methods are allowed, re-buy rules,
annual allowances, the loss-deduction cap) and the taxpayer's marginal rates, which are settings
with documented defaults because they depend on the person, not on the law. It does not compute
anything beyond classifying a holding and looking up an amount: `estimate` turns totals into tax,
`selection` consumes lots, `uk_matching` and `wash_sale` apply the re-buy rules.

Every figure below was checked with the project's `search` tool on the date of writing; the
citation sits next to it. Figures that could not be confirmed are listed in the profile's
`unverified` tuple and in the report, never silently assumed.

US (federal, individuals)
  - Holding: "more than 1 year" is long-term; count from the day after acquisition, the sale day
    included (IRS Pub. 550 "Holding Period"; IRS VITA "Capital Gain or Loss Workout").
  - Wash sale, IRC §1091(a): a loss on stock or securities is disallowed when substantially
    identical stock or securities are acquired in the period beginning 30 days before and ending
    30 days after the sale; §1091(d) adds the disallowed loss to the replacement's basis and
    §1223(3) tacks the holding period (IRS VITA Case Study 1: bought 100 sh for $1,000, sold for
    $750, rebought within 30 days for $800: $250 disallowed, new basis $1,050).
  - Crypto is property (Notice 2014-21), not "stock or securities": §1091 does not reach it under
    current law. The 2021 Build Back Better bill would have extended it to digital assets and was
    not enacted (National Law Review, 11 Jul 2023). Hence the `crypto_wash_sale` setting.
  - Lot identification: specific identification where adequately identified, FIFO otherwise;
    digital assets are tracked wallet by wallet from 1 Jan 2025 (Treas. Reg. §1.1012-1(j),
    Rev. Proc. 2024-28): sales consume lots of the account that sells.
  - Net capital loss against ordinary income capped at $3,000 a year, §1211(b).
DE (Einkommensteuer, private investors)
  - Crypto is an "anderes Wirtschaftsgut": a sale within one year is a private sale (§22 Nr. 2,
    §23 Abs. 1 Satz 1 Nr. 2 EStG; BFH IX R 3/22 of 14.2.2023), after more than one year it is not
    taxable; staking or lending does not extend the period to ten years (BMF 10.05.2022, Rz. 63).
  - Private-sale gains stay tax-free when the year's total is below the Freigrenze (an
    all-or-nothing limit, §23 Abs. 3 Satz 5 EStG): 600 EUR, 1,000 EUR from 1.1.2024
    (Wachstumschancengesetz of 27.3.2024).
  - Order of units: FIFO per wallet (BMF 10.05.2022: Einzelbetrachtung where possible, else FIFO
    as the permitted simplification, wallet by wallet); only FIFO is offered here.
  - Securities: capital income under the flat tax, 25% (§32d Abs. 1 EStG) plus 5.5% solidarity
    surcharge = 26.375% (church tax not modelled), FIFO for securities in collective custody
    (§20 Abs. 4 Satz 7 EStG), Sparer-Pauschbetrag 801 EUR, 1,000 EUR from 2023 (§20 Abs. 9 EStG,
    Jahressteuergesetz 2022).
UK (Capital Gains Tax, individuals)
  - Shares and tokens of one kind are matched: same day first (TCGA92/S105(1)), then
    acquisitions within the 30 days after the disposal, earliest first (the "bed and breakfast"
    rule, TCGA92/S106A(5)), then the Section 104 pool at average cost (TCGA92/S104); HMRC
    CG51560, CG51575; the same for cryptoassets (CRYPTO22200, examples CRYPTO22251-22256).
  - Annual exempt amount: 12,300 GBP, 6,000 GBP from 6.4.2023, 3,000 GBP from 6.4.2024.
  - Rates 18% / 24% for disposals from 30.10.2024 (shares and crypto alike); the band depends on
    the person's income, so the rate is a setting (default 24%, the higher rate).
EU (generic)
  - One method (FIFO or average cost), one rate, an optional holding-period exemption: a
    template for member states without a dedicated profile. Configure it; do not assume it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

from keeper.errors import ConfigError
from keeper.tax.holding import add_months, held_more_than, local_date
from keeper.tax.model import AssetKind, LotPolicy, TaxCategory


class RebuyRule(StrEnum):
    """What buying back the same asset soon after a sale does."""

    NONE = "none"
    WASH_SALE = "wash_sale"  # US §1091: the loss is deferred into the replacement lot
    BED_AND_BREAKFAST = "bed_and_breakfast"  # UK S106A(5): the sale is matched with the re-buy


class AllowanceKind(StrEnum):
    EXEMPTION_LIMIT = "exemption_limit"  # Freigrenze: all tax-free below the limit, all taxed at it
    ALLOWANCE = "allowance"  # Freibetrag / annual exempt amount: the first N are tax-free


@dataclass(frozen=True, slots=True)
class Allowance:
    """A yearly amount that reduces the tax on `categories`, by tax year of first application."""

    categories: frozenset[TaxCategory]
    kind: AllowanceKind
    amounts: tuple[tuple[int, Decimal], ...]  # (first tax year it applies to, amount), ascending
    source: str

    def amount_for(self, tax_year: int) -> Decimal:
        """The amount in force for `tax_year` (0 before the first listed year)."""
        amount = Decimal(0)
        for first_year, value in self.amounts:
            if tax_year >= first_year:
                amount = value
        return amount


@dataclass(frozen=True, slots=True)
class KindRules:
    """The rules for one asset kind in one jurisdiction."""

    policies: tuple[LotPolicy, ...]  # allowed lot methods; the first is the default
    within: TaxCategory  # category of a gain held up to `holding_months` (or always)
    after: TaxCategory | None = None  # category held more than `holding_months`; None: no rule
    holding_months: int = 12
    rebuy_rule: RebuyRule = RebuyRule.NONE
    rebuy_days_before: int = 0  # the re-buy window around a sale, in calendar days
    rebuy_days_after: int = 0


@dataclass(frozen=True)
class TaxProfile:
    """One jurisdiction's rules plus the taxpayer's marginal rates (settings)."""

    code: str
    name: str
    currency: str
    timezone: str  # IANA zone whose calendar dates count for holding periods
    year_start: tuple[int, int]  # (month, day) the tax year starts on
    kinds: Mapping[AssetKind, KindRules]
    rates: Mapping[TaxCategory, Decimal]  # marginal rate per category, as a fraction
    allowances: tuple[Allowance, ...] = ()
    netting: tuple[TaxCategory, ...] = ()  # categories whose net losses offset each other's gains
    loss_deduction_cap: Decimal | None = None  # net loss of `netting` usable against other income
    loss_offset_category: TaxCategory | None = None  # whose rate values that deduction
    month_end_sticky: bool = False  # see holding.add_months
    sources: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    settings: Mapping[str, object] = field(default_factory=dict)

    def rules(self, kind: AssetKind) -> KindRules:
        try:
            return self.kinds[kind]
        except KeyError:
            raise ConfigError(f"tax profile {self.code} has no rules for {kind} assets") from None

    def default_policy(self, kind: AssetKind) -> LotPolicy:
        return self.rules(kind).policies[0]

    def check_policy(self, kind: AssetKind, policy: LotPolicy) -> None:
        """Refuse a lot method the law does not allow here, naming the ones it does."""
        allowed = self.rules(kind).policies
        if policy not in allowed:
            names = ", ".join(p.value for p in allowed)
            raise ConfigError(
                f"tax.lot_policy: {policy.value} is not allowed for {kind.value} in {self.code}; "
                f"use {names}"
            )

    def rate(self, category: TaxCategory) -> Decimal:
        return self.rates.get(category, Decimal(0))

    def local_date(self, moment: datetime) -> date:
        return local_date(moment, self.timezone)

    def category(self, kind: AssetKind, holding_since: datetime, sold_at: datetime) -> TaxCategory:
        """How a gain on units held from `holding_since` and sold at `sold_at` is taxed."""
        rules = self.rules(kind)
        if rules.after is None:
            return rules.within
        long_held = held_more_than(
            self.local_date(holding_since),
            self.local_date(sold_at),
            rules.holding_months,
            month_end_sticky=self.month_end_sticky,
        )
        return rules.after if long_held else rules.within

    def long_boundary(self, kind: AssetKind, sold_at: datetime) -> datetime | None:
        """The instant before which a holding must have started to count as held more than the
        holding period at `sold_at` (None when the kind has no holding-period rule).

        Equivalent to `category` (a test checks it) but one comparison per lot, for ranking
        thousands of lots: `held_more_than` is monotone in the acquisition date, so the latest
        qualifying date is found near `sold - holding_months`.
        """
        rules = self.rules(kind)
        if rules.after is None:
            return None
        latest = _latest_long_acquisition(
            self.local_date(sold_at), rules.holding_months, self.month_end_sticky
        )
        return datetime.combine(
            latest + timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(self.timezone)
        )

    def tax_year(self, moment: datetime | date) -> int:
        """The tax year `moment` falls in, named by the calendar year it starts in."""
        day = self.local_date(moment) if isinstance(moment, datetime) else moment
        month, dom = self.year_start
        return day.year if (day.month, day.day) >= (month, dom) else day.year - 1

    def tax_year_bounds(self, year: int) -> tuple[date, date]:
        """First and last calendar day of tax year `year`."""
        month, dom = self.year_start
        return date(year, month, dom), date(year + 1, month, dom) - timedelta(days=1)


@lru_cache(maxsize=256)
def _latest_long_acquisition(sold: date, months: int, month_end_sticky: bool) -> date:
    """The latest acquisition date still held more than `months` on `sold` (monotone search)."""
    day = add_months(sold, -months)
    while not held_more_than(day, sold, months, month_end_sticky=month_end_sticky):
        day -= timedelta(days=1)
    while held_more_than(day + timedelta(days=1), sold, months, month_end_sticky=month_end_sticky):
        day += timedelta(days=1)
    return day


# --- the profiles ------------------------------------------------------------------------------

US_SOURCES = (
    "IRC §1091(a),(d) wash sales; §1223(3) holding period of replacement stock",
    "IRS Publication 550, Holding Period; Wash Sales",
    "IRS VITA 'Capital Gain or Loss Workout', Case Study 1: Wash Sales",
    "IRS Notice 2014-21 (virtual currency is property)",
    "Treas. Reg. §1.1012-1(j); Rev. Proc. 2024-28 (wallet-by-wallet basis from 1 Jan 2025)",
    "IRC §1211(b) ($3,000 net capital loss limit)",
    "Instructions for Form 8949, code W (wash sale: disallowed loss as a positive adjustment)",
)

DE_SOURCES = (
    "§23 Abs. 1 Satz 1 Nr. 2 EStG (private sale within one year); §23 Abs. 3 Satz 5 (Freigrenze)",
    "Wachstumschancengesetz 27.3.2024: Freigrenze 600 -> 1,000 EUR from 1.1.2024",
    "BMF-Schreiben 10.05.2022 IV C 1 - S 2256/19/10003 :001 "
    "(crypto; FIFO per wallet; no 10-year period)",
    "BFH 14.2.2023 IX R 3/22 (crypto is an 'anderes Wirtschaftsgut')",
    "§20 Abs. 4 Satz 7 EStG (FIFO in collective custody); §32d Abs. 1 (25%); SolZG 5.5%",
    "§20 Abs. 9 EStG Sparer-Pauschbetrag: 801 EUR, 1,000 EUR from 2023 (Jahressteuergesetz 2022)",
)

UK_SOURCES = (
    "TCGA 1992 s104 (pool), s105(1) (same day), s106A(5),(5A) (30 days)",
    "HMRC Capital Gains Manual CG51550, CG51560, CG51575",
    "HMRC Cryptoassets Manual CRYPTO22200; examples CRYPTO22251-CRYPTO22256",
    "Annual exempt amount: 12,300 -> 6,000 GBP (6.4.2023) -> 3,000 GBP (6.4.2024)",
    "CGT rates 18% / 24% for disposals from 30.10.2024",
)


def us_profile(
    *,
    crypto_wash_sale: bool = False,
    short_term_rate: Decimal = Decimal("0.24"),
    long_term_rate: Decimal = Decimal("0.15"),
) -> TaxProfile:
    """US federal rules. Rates default to a 24% bracket and the 15% long-term rate: set yours.

    `crypto_wash_sale=True` applies §1091 to crypto as well, for when the law changes (it was
    proposed in 2021 and not enacted) or for a conservative reading.
    """
    lots_methods = (LotPolicy.FIFO, LotPolicy.HIFO, LotPolicy.LIFO, LotPolicy.TAX_MIN)
    securities = KindRules(
        policies=lots_methods,
        within=TaxCategory.SHORT_TERM,
        after=TaxCategory.LONG_TERM,
        rebuy_rule=RebuyRule.WASH_SALE,
        rebuy_days_before=30,
        rebuy_days_after=30,
    )
    crypto = KindRules(
        policies=lots_methods,
        within=TaxCategory.SHORT_TERM,
        after=TaxCategory.LONG_TERM,
        rebuy_rule=RebuyRule.WASH_SALE if crypto_wash_sale else RebuyRule.NONE,
        rebuy_days_before=30 if crypto_wash_sale else 0,
        rebuy_days_after=30 if crypto_wash_sale else 0,
    )
    return TaxProfile(
        code="US",
        name="United States (federal)",
        currency="USD",
        timezone="America/New_York",
        year_start=(1, 1),
        kinds=MappingProxyType({AssetKind.SECURITY: securities, AssetKind.CRYPTO: crypto}),
        rates=MappingProxyType(
            {
                TaxCategory.SHORT_TERM: _rate(short_term_rate),
                TaxCategory.LONG_TERM: _rate(long_term_rate),
            }
        ),
        netting=(TaxCategory.SHORT_TERM, TaxCategory.LONG_TERM),
        loss_deduction_cap=Decimal(3000),
        loss_offset_category=TaxCategory.SHORT_TERM,
        month_end_sticky=True,
        sources=US_SOURCES,
        unverified=(
            "Short/long-term rates are the taxpayer's; defaults 24%/15% are placeholders, not law.",
            "Wash-sale replacement shares must still be held; shares bought and sold inside the "
            "window before the loss sale are not treated as replacements "
            "(a common broker reading).",
            "Shares bought within 30 days before a loss sale count as replacements even when they "
            "were bought before the lot sold (the statute's text); some practitioners disagree.",
        ),
        settings=MappingProxyType({"crypto_wash_sale": crypto_wash_sale}),
    )


def de_profile(
    *, personal_rate: Decimal = Decimal("0.42"), flat_rate: Decimal = Decimal("0.26375")
) -> TaxProfile:
    """German rules for a private investor. `personal_rate` is the marginal income-tax rate that
    applies to private sales (14%-45%; default 42%); the flat rate is 25% + 5.5% Soli."""
    crypto = KindRules(
        policies=(LotPolicy.FIFO,),
        within=TaxCategory.PRIVATE_SALE,
        after=TaxCategory.EXEMPT,
        holding_months=12,
    )
    securities = KindRules(policies=(LotPolicy.FIFO,), within=TaxCategory.CAPITAL_INCOME)
    return TaxProfile(
        code="DE",
        name="Germany (Einkommensteuer, Privatvermögen)",
        currency="EUR",
        timezone="Europe/Berlin",
        year_start=(1, 1),
        kinds=MappingProxyType({AssetKind.CRYPTO: crypto, AssetKind.SECURITY: securities}),
        rates=MappingProxyType(
            {
                TaxCategory.PRIVATE_SALE: _rate(personal_rate),
                TaxCategory.CAPITAL_INCOME: _rate(flat_rate),
                TaxCategory.EXEMPT: Decimal(0),
            }
        ),
        allowances=(
            Allowance(
                categories=frozenset({TaxCategory.PRIVATE_SALE}),
                kind=AllowanceKind.EXEMPTION_LIMIT,
                amounts=((2008, Decimal(600)), (2024, Decimal(1000))),
                source="§23 Abs. 3 Satz 5 EStG; Wachstumschancengesetz (1,000 EUR from 2024)",
            ),
            Allowance(
                categories=frozenset({TaxCategory.CAPITAL_INCOME}),
                kind=AllowanceKind.ALLOWANCE,
                amounts=((2009, Decimal(801)), (2023, Decimal(1000))),
                source="§20 Abs. 9 EStG; Jahressteuergesetz 2022 (1,000 EUR from 2023)",
            ),
        ),
        sources=DE_SOURCES,
        unverified=(
            "The year the 600 EUR Freigrenze started (2008 here) was not confirmed; 600 EUR for "
            "2018-2023 was.",
            "Church tax, the Teilfreistellung of funds and pre-2009 grandfathered securities are "
            "not modelled.",
            "Losses on shares (Aktien) may only offset gains on shares (§20 Abs. 6 Satz 4 EStG): "
            "not separated here.",
        ),
    )


def uk_profile(*, rate: Decimal = Decimal("0.24")) -> TaxProfile:
    """UK CGT for an individual. `rate` is 18% or 24% by income band (default 24%)."""
    matching = KindRules(
        policies=(LotPolicy.UK_MATCHING,),
        within=TaxCategory.CAPITAL_GAIN,
        rebuy_rule=RebuyRule.BED_AND_BREAKFAST,
        rebuy_days_before=0,
        rebuy_days_after=30,
    )
    return TaxProfile(
        code="UK",
        name="United Kingdom (Capital Gains Tax)",
        currency="GBP",
        timezone="Europe/London",
        year_start=(4, 6),
        kinds=MappingProxyType({AssetKind.SECURITY: matching, AssetKind.CRYPTO: matching}),
        rates=MappingProxyType({TaxCategory.CAPITAL_GAIN: _rate(rate)}),
        allowances=(
            Allowance(
                categories=frozenset({TaxCategory.CAPITAL_GAIN}),
                kind=AllowanceKind.ALLOWANCE,
                amounts=((2020, Decimal(12300)), (2023, Decimal(6000)), (2024, Decimal(3000))),
                source="Annual exempt amount (tax years starting 6 April)",
            ),
        ),
        sources=UK_SOURCES,
        unverified=(
            "12,300 GBP is applied from tax year 2020/21 on; "
            "earlier years' amounts are not encoded.",
            "Rates changed mid-year on 30.10.2024 (10/20% -> 18/24% for shares and crypto): one "
            "configured rate is used for the whole year.",
            "S106A(5A) (acquisitions while non-resident are not matched) is not modelled.",
        ),
    )


def eu_profile(
    *,
    method: LotPolicy = LotPolicy.FIFO,
    rate: Decimal = Decimal("0.25"),
    exemption_months: int | None = None,
    currency: str = "EUR",
    timezone: str = "Europe/Brussels",
) -> TaxProfile:
    """A generic EU profile: FIFO or average cost, one rate, optional holding-period exemption."""
    if method not in (LotPolicy.FIFO, LotPolicy.AVERAGE):
        raise ConfigError(f"tax.eu.method: {method.value} is not offered; use fifo or average")
    if exemption_months is not None and exemption_months <= 0:
        raise ConfigError("tax.eu.exemption_months: must be a positive number of months, or unset")
    rules = KindRules(
        policies=(method,),
        within=TaxCategory.CAPITAL_GAIN,
        after=TaxCategory.EXEMPT if exemption_months else None,
        holding_months=exemption_months or 12,
    )
    return TaxProfile(
        code="EU",
        name="Generic EU profile",
        currency=currency,
        timezone=timezone,
        year_start=(1, 1),
        kinds=MappingProxyType({AssetKind.SECURITY: rules, AssetKind.CRYPTO: rules}),
        rates=MappingProxyType(
            {TaxCategory.CAPITAL_GAIN: _rate(rate), TaxCategory.EXEMPT: Decimal(0)}
        ),
        sources=("Configured by the operator: method, rate and exemption are settings, not law.",),
        unverified=("Generic template: verify your member state's rules before relying on it.",),
        settings=MappingProxyType({"method": method.value, "exemption_months": exemption_months}),
    )


_FACTORIES = {"us": us_profile, "de": de_profile, "uk": uk_profile, "eu": eu_profile}


def profile_for(code: str, **settings: object) -> TaxProfile:
    """The profile for a jurisdiction code (us, de, uk, eu), with settings passed through."""
    key = code.strip().lower()
    factory = _FACTORIES.get(key)
    if factory is None:
        close = difflib.get_close_matches(key, list(_FACTORIES), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(
            f"tax.jurisdiction: unknown '{code}'{hint}; use one of {', '.join(_FACTORIES)}"
        )
    try:
        return factory(**settings)  # type: ignore[arg-type]
    except TypeError as e:
        raise ConfigError(f"tax.{key}: unknown setting ({e})") from e


def _rate(value: Decimal) -> Decimal:
    if isinstance(value, float) or not isinstance(value, Decimal | int | str):
        raise ConfigError(
            "tax rates are fractions given as Decimal or string, e.g. '0.24' (never floats)"
        )
    rate = Decimal(value)
    if not Decimal(0) <= rate < Decimal(1):
        raise ConfigError(f"tax rate {rate} is not a fraction in [0, 1): write 24% as 0.24")
    return rate
