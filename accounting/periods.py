"""Accounting periods: the site calendar's :class:`~sitetime.calendar.Period`.

Periods are half-open local-time intervals of the site calendar (:mod:`sitetime.calendar`,
``Asia/Shanghai`` by default); this module re-exports them for the accounting code.
"""

from sitetime.calendar import DEFAULT_TZ, KINDS, Period

__all__ = ["DEFAULT_TZ", "KINDS", "Period"]
