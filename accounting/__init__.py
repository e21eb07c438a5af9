"""tanzhang accounting engine: pure computation, no I/O.

Modules (one concept each):

============================  ============================================================
``accounting.factors``        named, versioned factor sets (packaged TOML) and their refs
``accounting.activity``       register deltas (resets, swaps, caps), gauge integrals, coverage
``accounting.events``         field events summed by type
``accounting.activity_data``  ActivityData and its construction from raw series + events
``accounting.emissions``      emission formulas (electricity, fuels, steam, N2O, urea, lime)
``accounting.sequestration``  biomass, soil carbon and forest removal formulas
``accounting.inventory``      factor set × activity -> emission lines by source
``accounting.removals``       removal lines by pool (biomass, soil, forest)
``accounting.statements``     Statement, compute_statement, roll_up
``accounting.labels``         orchard four-colour labels, explanation, what-if
``accounting.baseline``       line baseline model (daily, CalTRACK-style) and sufficiency
``accounting.savings``        avoided energy / CO2, FSU, hourly predictions, rolling figures
``accounting.benchmarking``   K = L / L_industry, colours, 碳效码 grades, lists
``accounting.resample``       register totals / gauge means per hour or local day, DailyData
``accounting.periods``        Period (hour / day / month / year, local time)
``accounting.profiles``       EntityProfile
``accounting.errors``         named exceptions
``accounting.units``          unit conversions
============================  ============================================================

See docs/accounting.md and docs/nomenclature.md.
"""

from accounting.activity import (
    GaugeIntegral,
    RegisterUsage,
    data_coverage,
    integrate_gauge,
    register_usage,
)
from accounting.activity_data import ActivityData, activity_from_series
from accounting.baseline import DailyData, LineBaselineModel, fit_line_baseline
from accounting.benchmarking import benchmark_factories, carbon_efficiency_k, industry_colour
from accounting.events import EventTotals, summarize_events
from accounting.factors import Factor, FactorSet, available_factor_sets, load_factor_set
from accounting.labels import Label, orchard_label, what_if, what_if_all
from accounting.periods import Period
from accounting.profiles import EntityProfile
from accounting.savings import (
    SavingsResult,
    compute_savings,
    fit_hourly_profile,
    predict_hourly,
    rolling_figures,
)
from accounting.statements import Statement, compute_statement, roll_up

__all__ = [
    "ActivityData",
    "DailyData",
    "EntityProfile",
    "EventTotals",
    "Factor",
    "FactorSet",
    "GaugeIntegral",
    "Label",
    "LineBaselineModel",
    "Period",
    "RegisterUsage",
    "SavingsResult",
    "Statement",
    "activity_from_series",
    "available_factor_sets",
    "benchmark_factories",
    "carbon_efficiency_k",
    "compute_savings",
    "compute_statement",
    "data_coverage",
    "fit_hourly_profile",
    "fit_line_baseline",
    "industry_colour",
    "integrate_gauge",
    "load_factor_set",
    "orchard_label",
    "predict_hourly",
    "register_usage",
    "roll_up",
    "rolling_figures",
    "summarize_events",
    "what_if",
    "what_if_all",
]
