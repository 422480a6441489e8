"""The `tax:` section: every setting validated with ONE line that names the field and the fix.

Cases mutate examples/tax/keeper.yaml (seed 000's taxable portfolio), so everything else in the
file is valid and the error can only come from the change.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from keeper.config import load_config_text
from keeper.config.compile import tax_profile
from keeper.errors import ConfigError
from keeper.tax.model import LotPolicy, TaxCategory

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tax" / "keeper.yaml"
TEXT = EXAMPLE.read_text()
TAX = "tax:\n  jurisdiction: us\n"


def with_tax(extra: str, jurisdiction: str = "us") -> str:
    """The example with its tax section's first line followed by `extra` (indented lines)."""
    return TEXT.replace(TAX, f"tax:\n  jurisdiction: {jurisdiction}\n{extra}")


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as e:
        load_config_text(text, "bad.yaml")
    line = str(e.value)
    assert "\n" not in line
    assert re.match(r"^bad\.yaml:\d+: ", line), line
    return line


def test_example__tax_section__loads_with_seed000_settings():
    cfg = load_config_text(TEXT, EXAMPLE)
    tax = cfg.model.tax
    assert tax.jurisdiction == "us" and tax.taxable and tax.lots == "seed000-lots.csv"
    assert tax.substitutes["QQQ"] == "VGT" and tax.harvesting.enabled
    assert tax.harvesting.min_loss == Decimal(500)
    profile = tax_profile(tax)
    assert profile.code == "US"
    assert profile.rate(TaxCategory.SHORT_TERM) == Decimal("0.24")


def test_jurisdiction__any_case__accepted():
    text = with_tax('  fx_usd: "1.08"\n', "DE").replace(
        "  rates: {short_term: 24%, long_term: 15%}\n", ""
    )
    cfg = load_config_text(text, "ok.yaml")
    assert cfg.model.tax.jurisdiction == "de"


def test_rates__set__reach_the_profile():
    text = TEXT.replace(
        "rates: {short_term: 24%, long_term: 15%}", "rates: {short_term: 32%, long_term: 20%}"
    )
    profile = tax_profile(load_config_text(text, "ok.yaml").model.tax)
    assert profile.rate(TaxCategory.SHORT_TERM) == Decimal("0.32")
    assert profile.rate(TaxCategory.LONG_TERM) == Decimal("0.2")


def test_us_crypto_wash_sale__on__applies_to_crypto():
    profile = tax_profile(
        load_config_text(with_tax("  wash_sale: {crypto: true}\n"), "ok.yaml").model.tax
    )
    assert profile.settings["crypto_wash_sale"] is True


def test_eu__method_and_exemption__reach_the_profile():
    text = with_tax('  fx_usd: "1.08"\n  eu: {method: average, exemption_months: 12}\n', "eu")
    text = text.replace("rates: {short_term: 24%, long_term: 15%}", "rates: {capital_gain: 30%}")
    profile = tax_profile(load_config_text(text, "ok.yaml").model.tax)
    assert profile.code == "EU" and profile.settings["method"] == "average"
    assert profile.rate(TaxCategory.CAPITAL_GAIN) == Decimal("0.3")


def test_not_taxable__loads_without_lots_or_rates():
    text = TEXT.replace(TAX, "tax:\n  jurisdiction: us\n  taxable: false\n")
    assert load_config_text(text, "ok.yaml").model.tax.taxable is False


@pytest.mark.parametrize(
    "text,path,words",
    [
        (with_tax("", "fr"), "tax.jurisdiction", "us"),
        (
            with_tax("  lot_policy: hifo\n", "de").replace(
                "rates: {short_term: 24%, long_term: 15%}", 'fx_usd: "1.08"'
            ),
            "tax.lot_policy",
            "hifo is not allowed for crypto in DE: use fifo",
        ),
        (with_tax("  lot_policy: average\n"), "tax.lot_policy", "use fifo, hifo, lifo, tax_min"),
        (with_tax("  lot_policy: fifoo\n"), "tax.lot_policy", "fifo"),
        (with_tax('  fx_usd: "1.08"\n', "de"), "tax.rates.short_term", "not a DE rate"),
        (
            with_tax("", "uk").replace(
                "rates: {short_term: 24%, long_term: 15%}", "rates: {capital_gain: 24%}"
            ),
            "tax.fx_usd",
            "GBP",
        ),
        (with_tax("  eu: {method: fifo}\n"), "tax.eu", "jurisdiction eu"),
        (
            with_tax('  fx_usd: "1.08"\n  wash_sale: {crypto: true}\n', "de").replace(
                "rates: {short_term: 24%, long_term: 15%}", ""
            ),
            "tax.wash_sale.crypto",
            "US only",
        ),
        (with_tax("  wash_sale: {days: 45}\n"), "tax.wash_sale.days", "30"),
        (with_tax("  accounts: {ibrk: ibkr:U1}\n"), "tax.accounts.ibrk", "did you mean 'ibkr'"),
        (with_tax("  kinds: {QQQQ: security}\n"), "tax.kinds.QQQQ", "did you mean 'QQQ'"),
        (
            TEXT.replace("substitutes: {QQQ: VGT,", "substitutes: {QQQ: XLK,"),
            "tax.substitutes.QQQ",
            "XLK",
        ),
        (
            TEXT.replace("substitutes: {QQQ: VGT,", "substitutes: {QQQ: QQQ,"),
            "tax.substitutes.QQQ",
            "must differ",
        ),
        (
            with_tax("  identical: {QQQ: nasdaq, VGT: nasdaq}\n"),
            "tax.substitutes.QQQ",
            "substantially identical",
        ),
        (TEXT.replace("min_loss: $500", "min_loss: lots"), "tax.harvesting.min_loss", "USD amount"),
        (
            TEXT.replace("min_loss: $500", "min_loss: $500\n    max_loss: $900"),
            "tax.harvesting.max_loss",
            "min_loss",
        ),
        (with_tax('  fx_usd: "-1"\n'), "tax.fx_usd", "> 0"),
        (
            with_tax("  rates: {short_term: 24}\n").replace(
                "  rates: {short_term: 24%, long_term: 15%}\n", ""
            ),
            "tax.rates.short_term",
            "%",
        ),
    ],
    ids=[
        "jurisdiction",
        "policy-not-allowed-de",
        "policy-not-allowed-us",
        "policy-typo",
        "rate-of-another-country",
        "fx-missing",
        "eu-elsewhere",
        "crypto-setting-outside-us",
        "wash-days",
        "account-venue-typo",
        "kind-asset-typo",
        "substitute-unknown",
        "substitute-itself",
        "substitute-identical",
        "min-loss",
        "unknown-key",
        "fx-negative",
        "bare-rate",
    ],
)
def test_tax_section__bad_setting__one_line_naming_the_field(text, path, words):
    line = refused(text)
    assert f" {path}: " in line or f" {path}" in line, line
    assert words in line, line


def test_seed001_tax__translated__lot_selection_and_harvesting():
    seed = """
portfolio_rebalancer:
  targets: {BTC: 50%, USDC: 50%}
  tax: {enable_tlh: true, lot_selection: lifo, wash_sale_days: 30, long_term_preference: false}
"""
    cfg = load_config_text(seed, "seed001.yaml")
    tax = cfg.model.tax
    assert LotPolicy(tax.lot_policy) is LotPolicy.LIFO and tax.harvesting.enabled
    assert tax.long_term_preference is False and tax.wash_sale.days == 30
