"""Closing periods: read telemetry, compute statements with :mod:`accounting`, post them.

::

    store ──series/events──▶ activity_from_series ──▶ compute_statement ──▶ post_statement
                                                       (roll_up for factories)

* **Idempotent**: posting identical figures is a no-op (:func:`ledger.book.post_statement`),
  so a close can be repeated, by the scheduler on several replicas or by hand.
* **Catch-up**: :func:`catch_up` closes every period since the last one posted for each
  entity (after downtime, all the missed ones), and re-closes the last ``lookback`` periods,
  so a late reading restates the period it belongs to.
* **Settled**: a period is closed only ``settle`` after its end, and registers are read up
  to ``settle`` past the end, so the reading after the boundary is there to apportion the
  last interval (:func:`accounting.activity.register_usage`).
* **Batched**: one store query per value name for a whole batch of entities.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from accounting.activity_data import REGISTER_FIELDS, ActivityData, activity_from_series
from accounting.factors import FactorSet, load_factor_set
from accounting.periods import DEFAULT_TZ
from accounting.periods import Period as LocalPeriod
from accounting.profiles import EntityProfile
from accounting.statements import Statement, compute_statement, roll_up
from ledger.book import last_closed_many, post_statements
from ledger.models import utcnow
from ledger.periods import Period, as_utc, periods_between
from telemetry.model import Event
from telemetry.store import TelemetryStore

log = logging.getLogger(__name__)

#: value names read from the store for a statement
FIELDS: tuple[str, ...] = (*REGISTER_FIELDS, "power_kw")
DEFAULT_FACTOR_SET = "cn-mee-2023"
#: how long after a period's end it is closed, and how far past the end registers are read
DEFAULT_SETTLE = {
    "hour": timedelta(minutes=10),
    "day": timedelta(minutes=30),
    "month": timedelta(hours=2),
    "year": timedelta(hours=6),
}
#: periods closed for an entity that has none yet (history before that is closed by hand)
DEFAULT_BACKFILL = {"hour": 48, "day": 31, "month": 12, "year": 1}
#: already-closed periods re-closed on each run, to pick up late readings
DEFAULT_LOOKBACK = {"hour": 2, "day": 3, "month": 1, "year": 0}
#: entities read and posted together
BATCH = 500
_PROFILE_FIELDS = {f.name for f in fields(EntityProfile)}
_DATE_FIELDS = ("baseline_start", "baseline_end", "intervention_date")


@dataclass(frozen=True)
class CloseResult:
    """What closing one entity's period did.

    outcome : ``posted`` (first version), ``restated`` (new version), ``unchanged``
        (identical to the current version), ``failed`` (``error`` says why)
    """

    entity_id: str
    period: Period
    outcome: str
    version: int | None = None
    net_t: float | None = None
    error: str | None = None


def _get(entity: Any, name: str, default: Any = None) -> Any:
    if isinstance(entity, dict):
        return entity.get(name, default)
    value = getattr(entity, name, None)
    if value is None:
        value = (getattr(entity, "attrs", None) or {}).get(name)
    return default if value is None else value


def entity_id_of(entity: Any) -> str:
    return str(_get(entity, "id") or _get(entity, "entity_id"))


def profile_of(entity: Any) -> EntityProfile:
    """An :class:`accounting.profiles.EntityProfile` from a registry entity (or dict).

    Attributes the profile doesn't know (``tz``, ``factor_set``, ``booking_period``, ...)
    are left out; dates given as ISO text are parsed.
    """
    if isinstance(entity, dict):
        doc = dict(entity)
    else:
        doc = dict(getattr(entity, "attrs", None) or {})
        for k in ("id", "kind", "parent", "name"):
            doc[k] = getattr(entity, k, None)
    doc["id"] = entity_id_of(entity)
    if doc.get("species") and not doc.get("forest_species"):  # registry name of the attribute
        doc["forest_species"] = doc["species"]
    kw = {k: v for k, v in doc.items() if k in _PROFILE_FIELDS and v is not None}
    for k in _DATE_FIELDS:
        if isinstance(kw.get(k), str):
            kw[k] = date.fromisoformat(kw[k])
    return EntityProfile(**kw)


def _factor_set(entity: Any, default: str, cache: dict[str, FactorSet]) -> FactorSet:
    ref = str(_get(entity, "factor_set", default))
    if ref not in cache:
        name, _, version = ref.partition("@")
        cache[ref] = load_factor_set(name, version or None)
    return cache[ref]


def _local_period(period: Period, tz: str) -> LocalPeriod:
    return period.in_zone(tz)


def _ms(dt: datetime) -> int:
    return int(round(dt.timestamp() * 1000))


def read_activities(
    store: TelemetryStore,
    entity_ids: Sequence[str],
    period: Period,
    *,
    settle: timedelta | None = None,
) -> dict[str, ActivityData]:
    """Activity data of each entity over ``period`` from the store.

    Registers are read from the last reading before the period to ``settle`` past its end
    (default :data:`DEFAULT_SETTLE`); events in ``[start, end)``; tree surveys, forest
    inventories and practice events of any date up to the end (a practice is in force from
    its date on). The entity's first data (``first_data_ms``: nothing accrues before it) is
    the earliest of its readings (the one before the period included), its events of the
    period and those dated records.
    """
    settle = DEFAULT_SETTLE[period.kind] if settle is None else settle
    start_ms, end_ms = _ms(period.start), _ms(period.end)
    series: dict[str, dict[str | tuple[str, str], tuple[Any, Any]]] = defaultdict(dict)
    events: dict[str, list[dict]] = defaultdict(list)
    surveys: dict[str, list[dict]] = defaultdict(list)
    inventories: dict[str, list[dict]] = defaultdict(list)
    practices: dict[str, list[dict]] = defaultdict(list)
    first: dict[str, int] = {}

    def seen(ent: str, ts_ms: int) -> None:
        first[ent] = min(first.get(ent, ts_ms), int(ts_ms))

    for i in range(0, len(entity_ids), BATCH):
        chunk = list(entity_ids[i : i + BATCH])
        for name in FIELDS:
            got = store.series(
                name, start_ms, end_ms + _ms_of(settle), entities=chunk, previous=True
            )
            for (ent, dev), s in got.items():
                series[ent][(dev, name)] = (s.ts_ms, s.values)
                if len(s.ts_ms):
                    seen(ent, min(s.ts_ms))
        for ev in store.events(start_ms, end_ms, entities=chunk):
            events[ev.entity].append(_event_dict(ev))
            seen(ev.entity, ev.ts_ms)
        # stock-difference inputs and practices of any date up to the period's end
        for typ, bucket in (
            ("tree_survey", surveys),
            ("forest_inventory", inventories),
            ("practice", practices),
        ):
            for ev in store.events(0, end_ms, entities=chunk, type=typ):
                bucket[ev.entity].append(_event_dict(ev))
                seen(ev.entity, ev.ts_ms)
        # entities with no data known before the period: look for any earlier record, so
        # that the first data is the same whatever period is closed (additivity)
        later = [e for e in chunk if first.get(e, end_ms) >= start_ms]
        if later:
            for ev in store.events(0, start_ms, entities=later):
                seen(ev.entity, ev.ts_ms)
    return {
        eid: activity_from_series(
            series.get(eid, {}),
            events.get(eid, []),
            start_ms=start_ms,
            end_ms=end_ms,
            tree_surveys=surveys.get(eid, []),
            forest_inventories=inventories.get(eid, []),
            practice_records=practices.get(eid, []),
            first_data_ms=first.get(eid, end_ms),
        )
        for eid in entity_ids
    }


def _event_dict(ev: Event) -> dict[str, Any]:
    """A stored event as :mod:`accounting.events` reads it; ``ts`` is its UTC time."""
    ts = datetime.fromtimestamp(ev.ts_ms / 1000, UTC).isoformat()
    return {"ts": ts, **ev.attrs, "type": ev.type, "id": ev.id}


def _ms_of(td: timedelta) -> int:
    return int(td.total_seconds() * 1000)


def compute_statements(
    store: TelemetryStore,
    entities: Sequence[Any],
    period: Period,
    *,
    factor_set: str = DEFAULT_FACTOR_SET,
    tz: str = DEFAULT_TZ,
    settle: timedelta | None = None,
) -> tuple[dict[str, Statement], dict[str, str]]:
    """Statements of ``entities`` for ``period``: ``({id: Statement}, {id: error})``.

    A factory's statement is the roll-up of its own meters and of the lines among
    ``entities`` whose parent it is (:func:`accounting.statements.roll_up`).
    """
    by_id = {entity_id_of(e): e for e in entities}
    acts = read_activities(store, list(by_id), period, settle=settle)
    cache: dict[str, FactorSet] = {}
    out: dict[str, Statement] = {}
    errors: dict[str, str] = {}
    for eid, ent in by_id.items():
        try:
            lp = _local_period(period, str(_get(ent, "tz", tz)))
            fs = _factor_set(ent, factor_set, cache)
            out[eid] = compute_statement(profile_of(ent), lp, acts[eid], fs)
        except Exception as exc:  # one bad entity must not stop the others
            errors[eid] = f"{type(exc).__name__}: {exc}"
    for eid, ent in by_id.items():
        if _get(ent, "kind") != "factory" or eid not in out:
            continue
        lines = [s for lid, s in out.items() if _get(by_id[lid], "parent") == eid]
        if lines:
            try:
                out[eid] = roll_up(profile_of(ent), [out[eid], *lines])
            except Exception as exc:
                errors[eid] = f"{type(exc).__name__}: {exc}"
                del out[eid]
    return out, errors


def close_entities(
    session: Session,
    store: TelemetryStore,
    entities: Sequence[Any],
    period: Period,
    *,
    reason: str = "scheduled close",
    factor_set: str = DEFAULT_FACTOR_SET,
    tz: str = DEFAULT_TZ,
    settle: timedelta | None = None,
) -> list[CloseResult]:
    """Compute and post one period for each entity; idempotent.

    Entities are taken in chunks of about :data:`BATCH` (a factory stays with its lines).
    The statements of a chunk are posted in one transaction
    (:func:`ledger.book.post_statements`); when that fails they are posted one by one,
    so a failure of one entity is reported in its :class:`CloseResult` and the others are
    posted.
    """
    results: list[CloseResult] = []
    for chunk in _chunks(entities):
        results += _close_chunk(session, store, chunk, period, reason, factor_set, tz, settle)
    return results


def _chunks(entities: Sequence[Any]) -> list[list[Any]]:
    """Entities in chunks of about BATCH, each factory in the chunk of its lines."""
    family: dict[str, list[Any]] = defaultdict(list)
    for e in entities:
        parent = _get(e, "parent")
        key = str(parent) if parent and _get(e, "kind") == "line" else entity_id_of(e)
        family[key].append(e)
    chunks: list[list[Any]] = [[]]
    for members in family.values():
        if chunks[-1] and len(chunks[-1]) + len(members) > BATCH:
            chunks.append([])
        chunks[-1].extend(members)
    return [c for c in chunks if c]


def _close_chunk(
    session: Session,
    store: TelemetryStore,
    entities: Sequence[Any],
    period: Period,
    reason: str,
    factor_set: str,
    tz: str,
    settle: timedelta | None,
) -> list[CloseResult]:
    stmts, errors = compute_statements(
        store, entities, period, factor_set=factor_set, tz=tz, settle=settle
    )
    results = [CloseResult(eid, period, "failed", error=msg) for eid, msg in errors.items()]
    items = [(eid, period, st.to_dict()) for eid, st in stmts.items()]
    try:
        posted = post_statements(session, items, reason=reason)
    except Exception as exc:  # find the culprit: post one by one
        log.warning(
            "close %s: batch of %d failed (%s); posting one by one", period, len(items), exc
        )
        posted = []
        for item in items:
            try:
                posted += post_statements(session, [item], reason=reason)
            except Exception as one:
                log.warning("close %s %s failed: %s", item[0], period, one)
                results.append(
                    CloseResult(item[0], period, "failed", error=f"{type(one).__name__}: {one}")
                )
    for ps, outcome in posted:
        results.append(CloseResult(ps.entity_id, period, outcome, ps.version, ps.net_t))
    return results


def due_periods(
    kind: str,
    last_end: datetime | None,
    now: datetime,
    *,
    tz: str = DEFAULT_TZ,
    settle: timedelta | None = None,
    backfill: int | None = None,
    lookback: int | None = None,
) -> list[Period]:
    """Periods of ``kind`` to close now for an entity whose last closed period ended at
    ``last_end``: all since then (or the last ``backfill`` ones if None) plus the last
    ``lookback`` already closed, each ending at least ``settle`` before ``now``."""
    settle = DEFAULT_SETTLE[kind] if settle is None else settle
    backfill = DEFAULT_BACKFILL[kind] if backfill is None else backfill
    lookback = DEFAULT_LOOKBACK[kind] if lookback is None else lookback
    horizon = as_utc(now) - settle
    if last_end is None:
        n, anchor = backfill, horizon
    else:
        n, anchor = lookback, as_utc(last_end)
    first = Period.containing(kind, anchor, tz)
    for _ in range(n):
        first = Period.containing(kind, first.start - timedelta(microseconds=1), tz)
    return periods_between(kind, first.start, horizon, tz)


def catch_up(
    session: Session,
    store: TelemetryStore,
    entities: Iterable[Any],
    kind: str,
    *,
    now: datetime | None = None,
    tz: str = DEFAULT_TZ,
    factor_set: str = DEFAULT_FACTOR_SET,
    settle: timedelta | None = None,
    backfill: int | None = None,
    lookback: int | None = None,
) -> list[CloseResult]:
    """Close every due period of ``kind`` for every entity (see :func:`due_periods`).

    Entities that need the same period are closed together (one batch of store queries).
    """
    now = utcnow() if now is None else as_utc(now)
    entities = list(entities)
    last = last_closed_many(session, kind)
    session.rollback()  # end the read transaction before the write transactions
    todo: dict[Period, list[Any]] = defaultdict(list)
    for ent in entities:
        etz = str(_get(ent, "tz", tz))
        for p in due_periods(
            kind,
            last.get(entity_id_of(ent)),
            now,
            tz=etz,
            settle=settle,
            backfill=backfill,
            lookback=lookback,
        ):
            todo[p].append(ent)
    children: dict[str, list[Any]] = defaultdict(list)
    for ent in entities:
        if _get(ent, "parent"):
            children[str(_get(ent, "parent"))].append(ent)
    results: list[CloseResult] = []
    for period in sorted(todo, key=lambda p: (p.start, p.end)):
        batch = todo[period]
        # a factory's roll-up needs all its lines (posting an unchanged line is a no-op)
        ids = {entity_id_of(e) for e in batch}
        for ent in list(batch):
            if _get(ent, "kind") == "factory":
                for child in children.get(entity_id_of(ent), []):
                    if entity_id_of(child) not in ids:
                        ids.add(entity_id_of(child))
                        batch.append(child)
        results += close_entities(
            session, store, batch, period, factor_set=factor_set, tz=tz, settle=settle
        )
    counts: dict[str, int] = defaultdict(int)
    for r in results:
        counts[r.outcome] += 1
    log.info("catch-up %s: %d periods, %s", kind, len(todo), dict(counts))
    return results
