"""Production-normalised daily baseline model of a factory line (CalTRACK-style).

Model (docs/methodology.md §7, "production-normalised line baseline", IPMVP Option B)::

    E_d = β0 + β_out·Q_d + β_we·W_d + β_H·HDD_d(T_bH) + β_C·CDD_d(T_bC)

E_d daily energy [kWh], Q_d daily output [output units], W_d = 1 on Saturday/Sunday,
HDD/CDD degree-days [°C·d] of the daily mean air temperature. Candidates (CalTRACK 2.0
daily): intercept-only, HDD-only, CDD-only, HDD+CDD, the balance points searched on the
CalTRACK grid 30-90 °F in 3 °F steps (converted to °C), each degree-day candidate needing
β > 0, ≥ 10 days with non-zero degree-days and ≥ 20 degree-days [°F·d] per year; the
qualifying candidate with the highest adjusted R² wins. Production and weekend terms are in
every candidate (dropped when the data have no output or no weekend days).

References: CalTRACK 2.0 methods (openeemeter/caltrack docs/v2.0); ASHRAE Guideline 14-2014
(CV(RMSE), NMBE); IPMVP (EVO) Option B.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from accounting.errors import InsufficientDataError, InvalidSeriesError, ModelFitError
from accounting.units import NumericT, f_to_c

#: CalTRACK balance-point grid: 30-90 °F in 3 °F steps, in °C.
BALANCE_POINTS_C = tuple(float(x) for x in f_to_c(np.arange(30.0, 90.1, 3.0)))
MIN_NONZERO_DD_DAYS = 10  # CalTRACK 2.0 §3.3
MIN_DD_PER_YEAR_F = 20.0  # CalTRACK 2.0 §3.3, [°F·d/yr]
SUFFICIENCY = "caltrack_sufficiency_criteria"

#: a local day: ISO text, a date or a numpy.datetime64
Day: TypeAlias = str | date | np.datetime64
Floats = npt.NDArray[np.float64]


def as_day(d: Day) -> np.datetime64:
    """``d`` as a numpy day (``datetime64[D]``)."""
    if isinstance(d, np.datetime64):
        return d.astype("datetime64[D]")
    return np.datetime64(d, "D")


@dataclass(frozen=True)
class ModelWarning:
    """A warning as data: dotted ``qualified_name``, text and details (eemeter style)."""

    qualified_name: str
    description: str
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DailyData:
    """Daily series of a line. NaN marks a missing value.

    Attributes
    ----------
    dates : ndarray of datetime64[D]
        Local calendar days, strictly increasing.
    energy_kwh : ndarray
        Daily energy [kWh].
    temp_c : ndarray
        Daily mean air temperature [°C].
    output_units : ndarray, optional
        Daily production [output units]; None for a model without production term.
    """

    dates: npt.NDArray[np.datetime64]
    energy_kwh: Floats
    temp_c: Floats
    output_units: Floats | None = None

    def __post_init__(self) -> None:
        self.dates = np.asarray(self.dates, dtype="datetime64[D]")
        self.energy_kwh = np.asarray(self.energy_kwh, dtype=float)
        self.temp_c = np.asarray(self.temp_c, dtype=float)
        if self.output_units is not None:
            self.output_units = np.asarray(self.output_units, dtype=float)
        n = self.dates.shape
        shapes = [self.energy_kwh.shape, self.temp_c.shape]
        if self.output_units is not None:
            shapes.append(self.output_units.shape)
        if len(n) != 1 or any(s != n for s in shapes):
            raise InvalidSeriesError("DailyData arrays must be 1-d and of equal length")
        if n[0] > 1 and not np.all(np.diff(self.dates).astype(int) > 0):
            raise InvalidSeriesError("DailyData.dates must be strictly increasing")

    def between(self, first: Day, last: Day) -> DailyData:
        """The days from ``first`` to ``last`` inclusive (e.g. a profile's baseline period)."""
        sel = (self.dates >= as_day(first)) & (self.dates <= as_day(last))
        out = None if self.output_units is None else self.output_units[sel]
        return DailyData(self.dates[sel], self.energy_kwh[sel], self.temp_c[sel], out)

    @property
    def weekend(self) -> Floats:
        """1.0 on Saturday and Sunday (1970-01-01 was a Thursday)."""
        dow = (self.dates.astype(np.int64) + 3) % 7  # 0 = Monday
        return (dow >= 5).astype(float)


def heating_degree_days(temp_c: NumericT, base_c: float) -> NumericT:
    """HDD = max(T_b − T, 0) of daily mean temperatures [°C·d] (CalTRACK 2.0 §3.2)."""
    return np.maximum(np.subtract(base_c, temp_c), 0.0)


def cooling_degree_days(temp_c: NumericT, base_c: float) -> NumericT:
    """CDD = max(T − T_b, 0) of daily mean temperatures [°C·d] (CalTRACK 2.0 §3.2)."""
    return np.maximum(np.subtract(temp_c, base_c), 0.0)


def check_sufficiency(
    data: DailyData,
    *,
    required_days: int = 365,
    max_missing_frac: float = 0.10,
    zero_is_missing: bool = False,
) -> list[ModelWarning]:
    """CalTRACK-style data-sufficiency checks of a baseline.

    Errors (raised together in :class:`InsufficientDataError`, dotted names):
    ``caltrack_sufficiency_criteria.no_data``, ``.incorrect_number_of_total_days``
    (fewer than ``required_days`` calendar days spanned), ``.too_many_days_with_missing_data``
    (energy), ``.too_many_days_with_missing_temperature_data``,
    ``.too_many_days_with_missing_output_data``, ``.negative_meter_values``.
    CalTRACK allows at most 37 of 365 days (10 %) missing.

    ``zero_is_missing``: CalTRACK counts zero electricity readings as missing; a production
    line legitimately reads ~0 on shutdown days, so the default here is False.

    Returns
    -------
    list of ModelWarning
        e.g. ``caltrack_sufficiency_criteria.extreme_values_detected``.
    """
    errors: list[str] = []
    warnings: list[ModelWarning] = []
    if data.dates.size == 0:
        raise InsufficientDataError("no baseline data", [f"{SUFFICIENCY}.no_data"])
    span = int((data.dates[-1] - data.dates[0]).astype(int)) + 1
    if span < required_days:
        errors.append(f"{SUFFICIENCY}.incorrect_number_of_total_days")
    e = data.energy_kwh
    missing = ~np.isfinite(e) | ((e == 0) if zero_is_missing else False)
    n_exp = max(span, required_days)
    present = data.dates.size - int(missing.sum())
    if 1 - present / n_exp > max_missing_frac:
        errors.append(f"{SUFFICIENCY}.too_many_days_with_missing_data")
    if 1 - np.isfinite(data.temp_c).sum() / n_exp > max_missing_frac:
        errors.append(f"{SUFFICIENCY}.too_many_days_with_missing_temperature_data")
    if (
        data.output_units is not None
        and 1 - np.isfinite(data.output_units).sum() / n_exp > max_missing_frac
    ):
        errors.append(f"{SUFFICIENCY}.too_many_days_with_missing_output_data")
    if np.any(e[np.isfinite(e)] < 0):
        errors.append(f"{SUFFICIENCY}.negative_meter_values")
    fin = e[np.isfinite(e)]
    if fin.size:
        q1, med, q3 = np.percentile(fin, [25, 50, 75])
        extreme = int(np.sum(fin > med + 3 * (q3 - q1)))
        if extreme:
            warnings.append(
                ModelWarning(
                    f"{SUFFICIENCY}.extreme_values_detected",
                    "days above median + 3 IQR",
                    {"n_extreme_values": extreme, "median": float(med)},
                )
            )
    if errors:
        raise InsufficientDataError(
            "baseline data insufficient: " + ", ".join(errors), errors, warnings
        )
    return warnings


def _design(data: DailyData, terms: list[str], hbp: float | None, cbp: float | None) -> Floats:
    cols = [np.ones(data.dates.size)]
    for t in terms:
        if t == "output":
            if data.output_units is None:
                raise InvalidSeriesError("this model needs output_units")
            cols.append(data.output_units)
        elif t == "weekend":
            cols.append(data.weekend)
        elif t == "hdd":
            if hbp is None:
                raise ModelFitError("an hdd term needs a heating balance point")
            cols.append(heating_degree_days(data.temp_c, hbp))
        elif t == "cdd":
            if cbp is None:
                raise ModelFitError("a cdd term needs a cooling balance point")
            cols.append(cooling_degree_days(data.temp_c, cbp))
    return np.column_stack(cols)


@dataclass
class LineBaselineModel:
    """A fitted line baseline. ``coefficients`` keys: intercept [kWh/d], output
    [kWh/unit], weekend [kWh/d], hdd and cdd [kWh/(°C·d)]."""

    model_type: str
    coefficients: dict[str, float]
    heating_balance_point_c: float | None
    cooling_balance_point_c: float | None
    n: int
    n_params: int
    r_squared: float
    r_squared_adj: float
    cvrmse: float
    nmbe: float
    rho1: float
    mean_kwh: float
    baseline_start: str
    baseline_end: str
    warnings: list[ModelWarning] = field(default_factory=list)
    hourly_profile: list[list[float]] | None = None
    #: shares per component ("base", "cdd", "hdd") x day type x hour (see accounting.savings)
    hourly_profiles: dict[str, list[list[float]]] | None = None
    #: hourly model on the baseline hours: CV(RMSE) [-], lag-1 autocorrelation [-], hours
    hourly_cvrmse: float | None = None
    hourly_rho1: float | None = None
    hourly_n: int | None = None

    def predict(
        self,
        dates: npt.ArrayLike,
        temp_c: npt.ArrayLike,
        output_units: npt.ArrayLike | None = None,
    ) -> Floats:
        """Predicted daily energy [kWh] for days, daily mean temperature [°C] and output."""
        d = DailyData(
            np.asarray(dates, dtype="datetime64[D]"),
            np.zeros(np.shape(dates)),
            np.asarray(temp_c, dtype=float),
            None if output_units is None else np.asarray(output_units, dtype=float),
        )
        terms = [k for k in self.coefficients if k != "intercept"]
        if "output" in terms and output_units is None:
            raise InvalidSeriesError("this model needs output_units")
        x = _design(d, terms, self.heating_balance_point_c, self.cooling_balance_point_c)
        beta = np.array([self.coefficients["intercept"], *(self.coefficients[t] for t in terms)])
        return x @ beta

    def balance_point(self, term: str) -> float:
        """The balance point [°C] of the model's ``"hdd"`` or ``"cdd"`` term."""
        bp = self.heating_balance_point_c if term == "hdd" else self.cooling_balance_point_c
        if bp is None:
            raise ModelFitError(f"this model has no {term} balance point")
        return bp

    def to_dict(self) -> dict:
        d = asdict(self)
        d["schema"] = "tanzhang.line_baseline/1"
        return d

    @classmethod
    def from_dict(cls, d: dict) -> LineBaselineModel:
        d = {k: v for k, v in d.items() if k != "schema"}
        d["warnings"] = [ModelWarning(**w) for w in d.get("warnings", [])]
        return cls(**d)


def _ols(x: Floats, y: Floats) -> tuple[npt.NDArray[np.floating[Any]], Floats]:
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    return beta, resid


def _lag1(resid: Floats) -> float:
    r = resid - resid.mean()
    den = float(np.sum(r * r))
    return float(np.sum(r[1:] * r[:-1]) / den) if den > 0 else 0.0


def fit_line_baseline(
    data: DailyData,
    *,
    required_days: int = 365,
    max_missing_frac: float = 0.10,
    include_weekend: bool = True,
    balance_points_c: Sequence[float] = BALANCE_POINTS_C,
    max_cvrmse: float = 0.25,
    max_abs_nmbe: float = 0.005,
) -> LineBaselineModel:
    """Fit the line baseline on its baseline-period days (see module docstring).

    Parameters
    ----------
    data : DailyData
        Baseline days (CalTRACK: the 365 days before the intervention).
    required_days, max_missing_frac : see :func:`check_sufficiency`.
    include_weekend : bool
        Add the weekend dummy.
    balance_points_c : sequence of float
        Balance-point grid [°C].
    max_cvrmse, max_abs_nmbe : float
        Qualification limits (docs/methodology.md §7: CV(RMSE) ≤ 25 % single line, |NMBE| ≤ 0.5 %);
        exceeding them adds a warning ``tanzhang_line_model.*`` (the model is still returned).

    Returns
    -------
    LineBaselineModel

    Raises
    ------
    InsufficientDataError, ModelFitError
    """
    warnings = check_sufficiency(
        data, required_days=required_days, max_missing_frac=max_missing_frac
    )
    ok = np.isfinite(data.energy_kwh) & np.isfinite(data.temp_c)
    if data.output_units is not None:
        ok &= np.isfinite(data.output_units)
    d = DailyData(
        data.dates[ok],
        data.energy_kwh[ok],
        data.temp_c[ok],
        None if data.output_units is None else data.output_units[ok],
    )
    y = d.energy_kwh
    n = y.size
    years = n / 365.0
    base_terms = []
    if d.output_units is not None and np.ptp(d.output_units) > 0:
        base_terms.append("output")
    if include_weekend and 0 < d.weekend.sum() < n:
        base_terms.append("weekend")
    hdd_ok, cdd_ok = {}, {}
    for bp in balance_points_c:
        h, c = heating_degree_days(d.temp_c, bp), cooling_degree_days(d.temp_c, bp)
        hdd_ok[bp] = (
            h > 0
        ).sum() >= MIN_NONZERO_DD_DAYS and h.sum() * 1.8 / years >= MIN_DD_PER_YEAR_F
        cdd_ok[bp] = (
            c > 0
        ).sum() >= MIN_NONZERO_DD_DAYS and c.sum() * 1.8 / years >= MIN_DD_PER_YEAR_F
    candidates: list[tuple[str, float | None, float | None]] = [("intercept_only", None, None)]
    candidates += [("hdd_only", b, None) for b in balance_points_c if hdd_ok[b]]
    candidates += [("cdd_only", None, b) for b in balance_points_c if cdd_ok[b]]
    candidates += [
        ("hdd_cdd", hb, cb)
        for hb in balance_points_c
        for cb in balance_points_c
        if hb <= cb and hdd_ok[hb] and cdd_ok[cb]
    ]
    sst = float(np.sum((y - y.mean()) ** 2))
    best, disqualified = None, 0
    for kind, hb, cb in candidates:
        terms = (
            base_terms + (["hdd"] if hb is not None else []) + (["cdd"] if cb is not None else [])
        )
        x = _design(d, terms, hb, cb)
        p = x.shape[1]
        if n <= p + 1:
            continue
        beta, resid = _ols(x, y)
        coef = dict(zip(["intercept", *terms], (float(b) for b in beta), strict=True))
        if coef.get("hdd", 1.0) <= 0 or coef.get("cdd", 1.0) <= 0:
            disqualified += 1
            continue
        sse = float(resid @ resid)
        r2 = 1 - sse / sst if sst > 0 else 0.0
        r2_adj = 1 - (1 - r2) * (n - 1) / (n - p)
        if best is None or r2_adj > best[0]:
            best = (r2_adj, r2, kind, hb, cb, coef, resid, p)
    if best is None:
        raise ModelFitError("no baseline candidate could be fitted")
    r2_adj, r2, kind, hb, cb, coef, resid, p = best
    mean = float(y.mean())
    cvrmse = float(np.sqrt(resid @ resid / (n - p)) / mean) if mean else float("inf")
    nmbe = float(resid.sum() / ((n - p) * mean)) if mean else float("inf")
    if disqualified:
        warnings.append(
            ModelWarning(
                "caltrack_daily.model_selection.candidates_disqualified",
                "non-positive β",
                {"n": disqualified},
            )
        )
    if cvrmse > max_cvrmse:
        warnings.append(
            ModelWarning(
                "tanzhang_line_model.cvrmse_above_limit", "CV(RMSE) above limit", {"cvrmse": cvrmse}
            )
        )
    if abs(nmbe) > max_abs_nmbe:
        warnings.append(
            ModelWarning(
                "tanzhang_line_model.nmbe_above_limit", "|NMBE| above limit", {"nmbe": nmbe}
            )
        )
    return LineBaselineModel(
        model_type=kind,
        coefficients=coef,
        heating_balance_point_c=hb,
        cooling_balance_point_c=cb,
        n=int(n),
        n_params=int(p),
        r_squared=float(r2),
        r_squared_adj=float(r2_adj),
        cvrmse=cvrmse,
        nmbe=nmbe,
        rho1=_lag1(resid),
        mean_kwh=mean,
        baseline_start=str(d.dates[0]),
        baseline_end=str(d.dates[-1]),
        warnings=warnings,
    )
