"""Query and path parameters shared by the routes of every domain, validated the same way.

Dates are ``YYYY-MM-DD`` (a local day of the site calendar, :mod:`sitetime`) or RFC 3339 date-times with an offset; anything else
(including bare epoch numbers, which pydantic would take as seconds) is a 422
``invalid_date``. Pages hold at most 1000 items.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, overload

from fastapi import Path, Query, Request

from api.errors import ApiError
from sitetime import clock
from sitetime.calendar import site_calendar

ID_PATTERN = r"^[a-z0-9_-]{1,64}$"
MAX_LIMIT = 1000
DATE_DOC = "a date `YYYY-MM-DD` (local day of the site) or an RFC 3339 date-time with offset"

EntityId = Annotated[str, Path(pattern=ID_PATTERN, description="entity id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size (at most 1000)")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")]

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: what a date parameter looks like (the calendar is checked by :func:`parse_when`)
WHEN_PATTERN = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"([Tt ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?([Zz]|[+-]([01]\d|2[0-3]):?[0-5]\d))?$"
)


def when_query(description: str) -> object:
    """A date query parameter: ``YYYY-MM-DD`` or an RFC 3339 date-time with offset."""
    return Query(pattern=WHEN_PATTERN, max_length=40, description=f"{description}: {DATE_DOC}")


@overload
def parse_when(raw: str, name: str, *, end_of_day: bool = False) -> datetime: ...
@overload
def parse_when(raw: None, name: str, *, end_of_day: bool = False) -> None: ...
@overload
def parse_when(raw: str | None, name: str, *, end_of_day: bool = False) -> datetime | None: ...
def parse_when(raw: str | None, name: str, *, end_of_day: bool = False) -> datetime | None:
    """An aware UTC datetime from ``YYYY-MM-DD`` or RFC 3339; 422 ``invalid_date`` otherwise.

    end_of_day : a bare date means the end of that local day of the site calendar (for
        cut-offs), else its start (local midnight)
    """
    if raw is None:
        return None
    try:
        if _DATE_RE.match(raw):
            d = date.fromisoformat(raw)
            day = site_calendar().day(d)
            return (day.end if end_of_day else day.start).astimezone(UTC)
        if not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]", raw):
            raise ValueError(raw)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError):
        raise ApiError(
            422, "invalid_date", f"{name}={raw!r} is not {DATE_DOC}, e.g. 2025-06-30"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ApiError(422, "invalid_date", f"{name}={raw!r} has no UTC offset: add Z or +08:00")
    try:
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiError(422, "invalid_date", f"{name}={raw!r} is out of range") from None


def window(
    start_raw: str | None, end_raw: str | None, default_span: timedelta
) -> tuple[datetime, datetime]:
    """``[start, end)`` from query strings (end: now, start: end − span by default);
    422 ``invalid_window`` when start is not before end."""
    end = parse_when(end_raw, "end") or clock.now()
    start = parse_when(start_raw, "start")
    if start is None:
        try:
            start = end - default_span
        except OverflowError:
            start = datetime(1970, 1, 1, tzinfo=UTC)
    if not start < end:
        raise ApiError(
            422,
            "invalid_window",
            f"start {start.isoformat()} must be before end {end.isoformat()}",
        )
    return start, end


async def single_query_values(request: Request) -> None:
    """422 when a query parameter is repeated (``?county=a&county=b``): no route takes a
    list, and silently keeping the last value would hide the caller's mistake."""
    keys = [k for k, _ in request.query_params.multi_items()]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ApiError(
            422, "repeated_parameter", f"query parameter {repeated[0]!r} is given more than once"
        )
