"""Germany: the one-year crypto exemption, FIFO per wallet, the Freigrenze, the flat tax."""

from decimal import Decimal

import pytest
from tax_helpers import at, buy, lot, move, sell

from keeper.errors import ConfigError
from keeper.tax.estimate import marginal_tax, tax_for_year
from keeper.tax.jurisdictions import de_profile
from keeper.tax.ledger import replay
from keeper.tax.model import AssetKind, LotPolicy, TaxCategory
from keeper.tax.reports import year_report
from keeper.tax.selection import select_lots

DE = de_profile()
CRYPTO = AssetKind.CRYPTO
BTC = 10**8  # raw units per BTC (8 decimals)


def test_de__fifo_worked_example__two_btc_exempt_one_taxable_under_freigrenze():
    # Source: coin.ink "Bitcoin Steuer" FIFO example (§23 EStG, FIFO as the tax offices apply it):
    # buy 2 BTC at 250 EUR (15 Aug 2017), 2 BTC at 400 EUR (21 Dec 2017); sell 3 BTC at 900 EUR
    # (26 Nov 2018). FIFO sells both 2017-08 coins first: held over a year, gain 1,300 EUR
    # tax-free; the third coin (21 Dec 2017) was held under a year: gain 500 EUR, taxable only if
    # the year's private sales reach the 600 EUR Freigrenze (2018), which 500 does not.
    events = [
        buy("b1", "2017-08-15", "BTC", 2 * BTC, 500, kind=CRYPTO, decimals=8),
        buy("b2", "2017-12-21", "BTC", 2 * BTC, 800, kind=CRYPTO, decimals=8),
        sell("s1", "2018-11-26", "BTC", 3 * BTC, 2700, kind=CRYPTO, decimals=8),
    ]
    result = replay(events, DE)
    exempt, taxable = result.realised
    assert (exempt.category, exempt.quantity_raw, exempt.gain) == (
        TaxCategory.EXEMPT,
        2 * BTC,
        Decimal(1300),
    )
    assert (taxable.category, taxable.quantity_raw, taxable.gain) == (
        TaxCategory.PRIVATE_SALE,
        BTC,
        Decimal(500),
    )
    (left,) = result.lots
    assert (left.lot_id, left.quantity_raw, left.cost_basis) == ("b2", BTC, Decimal(400))
    assert year_report(result.realised, DE, 2018).estimated_tax == 0


def test_de__anniversary_sale__still_taxable_next_day_exempt():
    # §23 Abs. 1 Satz 1 Nr. 2 EStG: taxable when "nicht mehr als ein Jahr" passes between buying
    # and selling; the period starts the day after the purchase (§187(1) BGB) and ends with the
    # same date a year later (§188(2) BGB): bought on 1 January, tax-free from 2 January of the
    # following year (magazinspot.de, "Versteuerung von Krypto-Gewinnen").
    bought = lot("b1", "ETH", 1, 1000, "2024-01-01", kind=CRYPTO)
    assert DE.category(CRYPTO, bought.acquired_at, at("2025-01-01")) is TaxCategory.PRIVATE_SALE
    assert DE.category(CRYPTO, bought.acquired_at, at("2025-01-02")) is TaxCategory.EXEMPT


def test_de__freigrenze_2024__all_or_nothing_at_1000_eur():
    # §23 Abs. 3 Satz 5 EStG as amended by the Wachstumschancengesetz (from 1.1.2024): gains stay
    # tax-free when the year's total is below 1,000 EUR; at 1,000 EUR all of it is taxed.
    rate = DE.rate(TaxCategory.PRIVATE_SALE)
    assert tax_for_year({TaxCategory.PRIVATE_SALE: Decimal("999.99")}, DE, 2024) == 0
    assert tax_for_year({TaxCategory.PRIVATE_SALE: Decimal(1000)}, DE, 2024) == 1000 * rate
    assert (
        tax_for_year({TaxCategory.PRIVATE_SALE: Decimal(800)}, DE, 2023) == 800 * rate
    )  # 600 EUR before 2024


def test_de__sale_crossing_freigrenze__marginal_tax_includes_the_earlier_gains():
    # A 100 EUR gain after 900 EUR realised this year makes all 1,000 EUR taxable.
    ytd = {TaxCategory.PRIVATE_SALE: Decimal(900)}
    tax = marginal_tax({TaxCategory.PRIVATE_SALE: Decimal(100)}, DE, 2024, ytd)
    assert tax == 1000 * DE.rate(TaxCategory.PRIVATE_SALE)


def test_de__hifo_requested__refused_naming_fifo():
    held = [lot("b1", "BTC", 10, 100, "2024-01-01", kind=CRYPTO)]
    with pytest.raises(ConfigError, match="hifo is not allowed for crypto in DE; use fifo"):
        select_lots(
            held,
            "BTC",
            5,
            policy=LotPolicy.HIFO,
            profile=DE,
            when=at("2024-06-01"),
            price=Decimal(20),
        )


def test_de__fifo_per_wallet__sale_from_wallet_b_uses_b_lots():
    # BMF 10.05.2022: FIFO is applied wallet by wallet.
    held = [
        lot("a1", "BTC", 10, 100, "2023-01-01", kind=CRYPTO, account="wallet-a"),
        lot("b1", "BTC", 10, 500, "2024-03-01", kind=CRYPTO, account="wallet-b"),
    ]
    disposal = select_lots(
        held,
        "BTC",
        4,
        policy=None,
        profile=DE,
        when=at("2024-06-01"),
        price=Decimal(60),
        account="wallet-b",
    )
    assert [(m.lot.lot_id, m.quantity_raw) for m in disposal.matches] == [("b1", 4)]


def test_de__transfer_between_own_wallets__keeps_acquisition_date():
    # A transfer is not a sale: the coins keep their purchase date and basis, so coins bought in
    # January 2023 and moved to cold storage in June are tax-free when sold in February 2024.
    events = [
        buy("b1", "2023-01-10", "BTC", 10, 1000, kind=CRYPTO, account="exchange"),
        move("t1", "2023-06-01", "BTC", 10, "exchange", "cold"),
        sell("s1", "2024-02-01", "BTC", 10, 3000, kind=CRYPTO, account="cold"),
    ]
    (sale,) = replay(events, DE).realised
    assert sale.category is TaxCategory.EXEMPT and sale.gain == Decimal(2000)


def test_de__securities__flat_tax_after_sparer_pauschbetrag():
    # §32d Abs. 1 EStG 25% plus 5.5% Soli = 26.375%; §20 Abs. 9 Sparer-Pauschbetrag 1,000 EUR
    # from 2023, 801 EUR before.
    gains = {TaxCategory.CAPITAL_INCOME: Decimal(3000)}
    assert tax_for_year(gains, DE, 2023) == Decimal(2000) * Decimal("0.26375")
    assert tax_for_year(gains, DE, 2022) == Decimal(2199) * Decimal("0.26375")
    events = [buy("b1", "2020-01-02", "SAP", 10, 1000), sell("s1", "2024-06-03", "SAP", 10, 4000)]
    (sale,) = replay(events, DE).realised
    assert sale.category is TaxCategory.CAPITAL_INCOME  # no holding-period exemption for securities
