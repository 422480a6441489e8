"""Tax-aware planning: a trade's tax cost, choosing which asset of a class to sell, harvesting
under other jurisdictions, and the US estimate's netting and loss cap."""

from decimal import Decimal

from tax_helpers import at, lot

from keeper.tax.estimate import tax_for_year
from keeper.tax.harvest import HarvestSettings, Priority, harvest_candidates
from keeper.tax.jurisdictions import de_profile, eu_profile, uk_profile, us_profile
from keeper.tax.model import AssetKind, LotPolicy, TaxCategory
from keeper.tax.planning import sale_options, trade_tax_cost

US = us_profile()
WHEN = at("2024-06-03")
CRYPTO = AssetKind.CRYPTO


def test_sale_options__appreciated_and_losing_etf_in_one_class__sells_the_loser_first():
    # Seed 000: "Hold appreciated ETF positions". Raising $5,000 from ETF Core: QQQ stands at a
    # gain, VGT at a loss: selling VGT realises a loss (tax saved) and defers QQQ's gain.
    book = [lot("q", "QQQ", 50, 15000, "2024-01-10"), lot("v", "VGT", 40, 22000, "2023-03-01")]
    prices = {"QQQ": Decimal(400), "VGT": Decimal(500)}
    options = sale_options(
        book, ["QQQ", "VGT"], Decimal(5000), prices=prices, profile=US, when=WHEN
    )
    assert [o.asset for o in options] == ["VGT", "QQQ"]
    assert options[0].tax < 0 < options[1].tax
    assert options[0].quantity_raw == 10 and options[1].quantity_raw == 12  # rounded down


def test_sale_options__asset_without_enough_units__left_out():
    book = [lot("q", "QQQ", 5, 1500, "2024-01-10"), lot("v", "VGT", 40, 22000, "2023-03-01")]
    prices = {"QQQ": Decimal(400), "VGT": Decimal(500)}
    options = sale_options(
        book, ["QQQ", "VGT"], Decimal(5000), prices=prices, profile=US, when=WHEN
    )
    assert [o.asset for o in options] == ["VGT"]


def test_trade_tax_cost__us__tax_min_chooses_long_term_lot_and_prices_it():
    book = [lot("st", "X", 10, 100, "2024-03-01"), lot("lt", "X", 10, 100, "2022-03-01")]
    estimate = trade_tax_cost(book, "X", 10, price=Decimal(30), profile=US, when=WHEN)
    assert estimate.gains == {TaxCategory.LONG_TERM: Decimal(200)}
    assert estimate.tax == Decimal(200) * Decimal("0.15")


def test_trade_tax_cost__de_crypto_over_a_year__no_tax():
    de = de_profile()
    book = [lot("a", "BTC", 10, 100, "2022-03-01", kind=CRYPTO)]
    estimate = trade_tax_cost(book, "BTC", 10, price=Decimal(3000), profile=de, when=WHEN)
    assert estimate.tax == 0 and estimate.gains == {TaxCategory.EXEMPT: Decimal(29900)}


def test_tax_for_year__us_short_loss_offsets_long_gain__schedule_d_netting():
    # Schedule D: a net short-term loss reduces a net long-term gain.
    assert tax_for_year(
        {TaxCategory.SHORT_TERM: Decimal(-1000), TaxCategory.LONG_TERM: Decimal(5000)}, US, 2024
    ) == Decimal(4000) * Decimal("0.15")


def test_tax_for_year__us_net_loss_over_3000__deduction_capped():
    # IRC §1211(b): a net capital loss offsets at most $3,000 of other income a year.
    assert tax_for_year({TaxCategory.SHORT_TERM: Decimal(-7000)}, US, 2024) == Decimal(
        -3000
    ) * Decimal("0.24")
    assert tax_for_year({TaxCategory.LONG_TERM: Decimal(-2000)}, US, 2024) == Decimal(
        -2000
    ) * Decimal("0.24")


def test_harvest__de_crypto_held_over_a_year__loss_not_deductible_not_proposed():
    # §23 EStG: outside the one-year period a sale is not taxable, so its loss saves nothing.
    de = de_profile()
    book = [lot("old", "ETH", 10, 30000, "2022-01-10", kind=CRYPTO)]
    ytd = {TaxCategory.PRIVATE_SALE: Decimal(5000)}
    assert harvest_candidates(book, {"ETH": Decimal(2000)}, WHEN, de, ytd=ytd).harvest == ()


def test_harvest__de_crypto_within_a_year__fifo_prefix_offsets_private_sale_gains():
    # FIFO only: the harvest can sell only the oldest coins first; here the oldest lot is at a
    # loss, so it alone is sold, against 5,000 EUR of private-sale gains this year.
    de = de_profile()
    book = [
        lot("a", "ETH", 10, 40000, "2024-01-10", kind=CRYPTO),
        lot("b", "ETH", 10, 10000, "2024-02-10", kind=CRYPTO),
    ]
    ytd = {TaxCategory.PRIVATE_SALE: Decimal(5000)}
    signal = harvest_candidates(book, {"ETH": Decimal(2000)}, WHEN, de, ytd=ytd)
    (candidate,) = signal.harvest
    assert [x.lot_id for x in candidate.lots] == ["a"] and candidate.loss == Decimal(20000)
    assert candidate.tax_saved == Decimal(5000) * de.rate(TaxCategory.PRIVATE_SALE)


def test_harvest__uk_pool_at_a_loss__whole_pool_with_rebuy_after_30_days():
    uk = uk_profile()
    book = [lot("s104:T", "T", 1000, 10000, "2023-01-01", kind=CRYPTO)]
    signal = harvest_candidates(
        book, {"T": Decimal(5)}, WHEN, uk, ytd={TaxCategory.CAPITAL_GAIN: Decimal(20000)}
    )
    (candidate,) = signal.harvest
    assert candidate.loss == Decimal(5000) and candidate.priority is Priority.HIGH
    assert candidate.rebuy_after.isoformat() == "2024-07-04"  # the 30-day rule, TCGA92/S106A(5)


def test_harvest__eu_average__position_above_average_cost__nothing_to_harvest():
    eu = eu_profile(method=LotPolicy.AVERAGE)
    book = [lot("a", "X", 10, 300, "2024-01-01"), lot("b", "X", 10, 100, "2024-02-01")]
    assert harvest_candidates(book, {"X": Decimal(25)}, WHEN, eu).harvest == ()


def test_harvest__loss_below_minimum__not_proposed():
    book = [lot("a", "X", 10, 1000, "2024-01-01")]
    assert harvest_candidates(book, {"X": Decimal(60)}, WHEN, US).harvest == ()  # $400 < $500
    settings = HarvestSettings(min_loss=Decimal(300))
    assert len(harvest_candidates(book, {"X": Decimal(60)}, WHEN, US, settings).harvest) == 1


def test_plan_tax_impact__gain_and_loss_legs__netted_jointly():
    # A plan selling a $2,000 short-term gain and a $1,500 short-term loss owes tax on $500
    # jointly; leg by leg the loss alone would look like a $1,500 deduction.
    from keeper.tax.planning import plan_tax_impact

    book = [lot("g", "G", 10, 1000, "2024-02-01"), lot("l", "L", 10, 2500, "2024-02-01")]
    impact = plan_tax_impact(
        book, {"G": (10, Decimal(300)), "L": (10, Decimal(100))}, profile=US, when=WHEN
    )
    assert impact.gains == {TaxCategory.SHORT_TERM: Decimal(500)}
    assert impact.tax == Decimal(500) * Decimal("0.24")
    assert impact.legs["L"].tax == Decimal(-1500) * Decimal("0.24")
