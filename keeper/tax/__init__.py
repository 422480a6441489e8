"""Tax-aware rebalancing, the pure core: lots, lot selection, jurisdictions, re-buy rules, reports.

PURE: nothing in this package imports web3, ccxt, httpx, sqlite3 or the keeper's adapters, reads
a clock, a file or the network. Callers pass lots, prices, dates and settings as values.

Where things live:
  model          Lot, LotMatch, Disposal, RealisedGain, the enums
  holding        "more than one year" in calendar months (US long-term, DE crypto exemption)
  jurisdictions  US, DE, UK, EU rules as data, with their sources
  selection      FIFO / LIFO / HIFO / tax-minimising / average-cost consumption of lots
  wash_sale      US wash sales with basis adjustment; the buy check (US and UK 30 days)
  uk_matching    UK same day -> 30 days -> Section 104 pool
  ledger         replay of acquisitions, sales and own transfers into lots and results
  csv_import     the lots CSV (docs/tax-lots-csv.md) into ledger events
  estimate       tax of a year, marginal tax of a sale (netting, allowances, loss cap)
  planning       a trade's tax cost; which asset of a class to sell to defer gains
  harvest        loss-harvesting signal, hold advice, December review
  reports        the year by category, Form 8949 rows, seed 000's tax table

The functions a planner calls are re-exported here.
"""

from keeper.tax.csv_import import parse_lots_csv
from keeper.tax.estimate import (
    TaxEstimate,
    estimate_sale_tax,
    marginal_tax,
    tax_for_year,
    totals_by_category,
)
from keeper.tax.harvest import (
    HarvestCandidate,
    HarvestSettings,
    HarvestSignal,
    HoldAdvice,
    Priority,
    harvest_candidates,
)
from keeper.tax.jurisdictions import (
    TaxProfile,
    de_profile,
    eu_profile,
    profile_for,
    uk_profile,
    us_profile,
)
from keeper.tax.ledger import Acquisition, LedgerResult, Sale, Transfer, replay
from keeper.tax.model import (
    AssetKind,
    Disposal,
    Lot,
    LotMatch,
    LotPolicy,
    RealisedGain,
    TaxCategory,
)
from keeper.tax.planning import (
    PlanTaxImpact,
    SaleOption,
    plan_tax_impact,
    sale_options,
    trade_tax_cost,
)
from keeper.tax.reports import assessment, form_8949_csv, form_8949_rows, year_report
from keeper.tax.selection import apply_disposal, lots_by_asset, select_for_rebalance, select_lots
from keeper.tax.wash_sale import BuyDecision, wash_sale_block

__all__ = [
    "Acquisition",
    "AssetKind",
    "BuyDecision",
    "Disposal",
    "HarvestCandidate",
    "HarvestSettings",
    "HarvestSignal",
    "HoldAdvice",
    "LedgerResult",
    "Lot",
    "LotMatch",
    "LotPolicy",
    "PlanTaxImpact",
    "Priority",
    "RealisedGain",
    "Sale",
    "SaleOption",
    "TaxCategory",
    "TaxEstimate",
    "TaxProfile",
    "Transfer",
    "apply_disposal",
    "assessment",
    "de_profile",
    "estimate_sale_tax",
    "eu_profile",
    "form_8949_csv",
    "form_8949_rows",
    "harvest_candidates",
    "lots_by_asset",
    "marginal_tax",
    "parse_lots_csv",
    "plan_tax_impact",
    "profile_for",
    "replay",
    "sale_options",
    "select_for_rebalance",
    "select_lots",
    "tax_for_year",
    "totals_by_category",
    "trade_tax_cost",
    "uk_profile",
    "us_profile",
    "wash_sale_block",
    "year_report",
]
