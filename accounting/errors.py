"""Named errors of the accounting engine.

Every error raised on purpose by :mod:`accounting` derives from :class:`AccountingError`,
which is also a :class:`ValueError` so that callers validating input can catch either.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounting.baseline import ModelWarning


class AccountingError(ValueError):
    """Base class of all errors raised by the accounting engine."""


class FactorSetNotFoundError(AccountingError):
    """No packaged factor set has the requested name (and version)."""


class FactorNotFoundError(AccountingError, KeyError):
    """The factor set holds no factor under the requested key."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class FactorSetFormatError(AccountingError):
    """A factor-set file is malformed (missing value/unit/source/tag, bad alias ...)."""


class InvalidSeriesError(AccountingError):
    """A raw telemetry series is unusable (shape mismatch, non-finite time, bad window)."""


class InvalidEventError(AccountingError):
    """A field event lacks a required field or carries an impossible value."""


class InvalidProfileError(AccountingError):
    """An entity profile or period is inconsistent (unknown kind, negative area ...)."""


class MixedStatementsError(AccountingError):
    """Statements to roll up differ in period or factor set, or belong to another parent."""


class InsufficientDataError(AccountingError):
    """Baseline or reporting data fail the data-sufficiency criteria.

    ``errors`` holds the dotted names of the failed criteria, ``warnings`` the
    :class:`accounting.baseline.ModelWarning` objects collected on the way.
    """

    def __init__(
        self,
        message: str,
        errors: list[str] | None = None,
        warnings: Iterable[ModelWarning] | None = None,
    ):
        super().__init__(message)
        self.errors = list(errors or [])
        self.warnings = list(warnings or [])


class ModelFitError(AccountingError):
    """No candidate baseline model could be fitted (all candidates disqualified)."""
