"""Unit conversions (definitions and molar-mass ratios, not emission factors)."""

from typing import Any, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

#: A number or an array of numbers: the formula functions (accounting.emissions,
#: accounting.sequestration) take either and broadcast like numpy.
Numeric: TypeAlias = float | npt.NDArray[np.floating[Any]]
#: The same kind out as in: a number for a number, an array for an array.
NumericT = TypeVar("NumericT", float, npt.NDArray[np.float64])

#: t CO2 per t C (molar masses 44/12).
C_TO_CO2 = 44.0 / 12.0
#: kg N2O per kg N2O-N (molar masses 44/28).
N2ON_TO_N2O = 44.0 / 28.0
#: mu (亩) per hectare: 1 mu = 666.67 m², 1 ha = 15 mu.
MU_PER_HA = 15.0
#: hectares per mu.
HA_PER_MU = 1.0 / MU_PER_HA
#: milliseconds per hour.
MS_PER_HOUR = 3_600_000
#: days per (Julian) year, used to pro-rate annual rates over a period.
DAYS_PER_YEAR = 365.25


def f_to_c(temp_f: NumericT) -> NumericT:
    """Convert temperature [°F] to [°C]."""
    return (temp_f - 32.0) * 5.0 / 9.0


def c_to_f(temp_c: NumericT) -> NumericT:
    """Convert temperature [°C] to [°F]."""
    return temp_c * 9.0 / 5.0 + 32.0
