"""Orchard four-colour labels of posted statements, as a service the ``/v1/orchards`` routes
and the credit report call.

A label is computed on read from a posted orchard statement
(:func:`accounting.labels.orchard_label`) with the thresholds of the statement's own factor
set (``label.orchard.*``), else :data:`DEFAULT_THRESHOLDS` (docs/methodology.md); the
registry adds the orchard's county and area. What-if reads the period's activity from the
telemetry store again (:func:`ledger.closing.read_activities`) and runs
:func:`accounting.labels.what_if`.

Results are :class:`OrchardLabel` and :class:`WhatIf` (the engine's label dict with its
context); errors are named (:mod:`ledger.errors`): :class:`~ledger.errors.NoStatement`,
:class:`~ledger.errors.NotLabelable`, :class:`~ledger.errors.UnknownEntity`,
:class:`~ledger.errors.FactorSetUnavailable`, :class:`~ledger.errors.DataUnavailable`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from ledger import book
from ledger.accounts_query import Scope, engine_statement, latest_statement, latest_statements
from ledger.errors import DataUnavailable, FactorSetUnavailable, NotLabelable, UnknownEntity
from ledger.models import Account, PostedStatement
from ledger.periods import Period

#: label thresholds of docs/methodology.md when a statement's factor set has none
DEFAULT_THRESHOLDS = (1.2, 1.0, 0.8)
#: the factor set of a what-if when the statement names none (the closing job's default)
DEFAULT_FACTOR_SET = "cn-mee-2023"


@dataclass(frozen=True)
class OrchardLabel:
    """The label of one posted orchard statement.

    label : :meth:`accounting.labels.Label.to_dict` (``colour``, ``colour_zh``, ``ratio``,
        ``thresholds``, ``explanation``)
    county, area_mu : the orchard's registry attributes (None when not registered)
    """

    entity_id: str
    period_kind: str
    period_start: datetime
    period_end: datetime
    label: dict[str, Any]
    county: str | None
    area_mu: Any

    @property
    def colour(self) -> str:
        return str(self.label["colour"])

    @property
    def colour_zh(self) -> str:
        return str(self.label["colour_zh"])

    @property
    def ratio(self) -> float | None:
        """R = sequestration / emissions; None without emissions (R infinite)."""
        r = self.label.get("ratio")
        return None if r is None or r == math.inf else float(r)

    @property
    def thresholds(self) -> list[float]:
        return [float(t) for t in self.label["thresholds"]]

    @property
    def explanation(self) -> dict[str, Any]:
        return dict(self.label["explanation"])


@dataclass(frozen=True)
class WhatIf:
    """The label an orchard would earn with ``practice`` on ``area_mu`` more mu."""

    practice: str
    area_mu: float
    before: OrchardLabel
    after: OrchardLabel
    delta_emissions_t: float
    delta_sequestration_t: float
    delta_net_t: float
    improves: bool


@lru_cache(maxsize=32)
def factor_set(name: str, version: str | None) -> Any:
    """A packaged factor set (:func:`accounting.factors.load_factor_set`), cached."""
    from accounting.factors import load_factor_set

    return load_factor_set(name, version)


def thresholds(fs_doc: dict[str, Any] | None) -> tuple[float, float, float]:
    """Label thresholds from a statement's factor set, or the defaults of docs/methodology.md."""
    from accounting.labels import orchard_thresholds

    if not fs_doc or not fs_doc.get("name"):
        return DEFAULT_THRESHOLDS
    try:
        return orchard_thresholds(factor_set(fs_doc["name"], fs_doc.get("version")))
    except Exception:  # a set without label keys, or one no longer packaged
        return DEFAULT_THRESHOLDS


def _with_context(d: dict[str, Any], ps: PostedStatement, registry: Any) -> OrchardLabel:
    ent = registry.entities.get(ps.account.entity_id) if registry is not None else None
    attrs = ent.attrs if ent is not None else {}
    return OrchardLabel(
        entity_id=ps.account.entity_id,
        period_kind=ps.period_kind,
        period_start=ps.period_start,
        period_end=ps.period_end,
        label=d,
        county=attrs.get("county"),
        area_mu=attrs.get("area_mu"),
    )


def label_of(ps: PostedStatement, registry: Any) -> OrchardLabel:
    """The label of a posted orchard statement (thresholds from its factor set);
    :class:`~ledger.errors.NotLabelable` for a statement the engine did not compute."""
    from accounting.labels import orchard_label

    stmt = engine_statement(ps)
    label = orchard_label(stmt, thresholds=thresholds(ps.factor_set))
    return _with_context(label.to_dict(), ps, registry)


def current_label(session: Session, registry: Any, acct: Account, period: str) -> OrchardLabel:
    """The label of the orchard's latest statement of ``period`` kind
    (:class:`~ledger.errors.NoStatement` when none was closed)."""
    return label_of(latest_statement(session, acct, period), registry)


def label_history(
    session: Session, registry: Any, entity_id: str, period: str, start: datetime, end: datetime
) -> list[OrchardLabel]:
    """The labels of the orchard's current statements of ``period`` kind starting in
    ``[start, end)``, oldest first; statements the engine did not compute are left out."""
    out = []
    for ps in book.statements(session, entity_id, period, start, end):
        try:
            out.append(label_of(ps, registry))
        except NotLabelable:
            continue
    return out


def orchard_labels(
    session: Session,
    registry: Any,
    scope: Scope,
    period: str,
    *,
    colour: str | None = None,
    county: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[OrchardLabel]]:
    """A page of the labels of every orchard in ``scope`` (its latest statement of
    ``period`` kind), by entity id, filtered by registry ``county`` and by ``colour``, and
    how many there are in all. Orchards without a statement, or whose statement the engine
    did not compute, are left out. Only the page is labelled when no colour is asked for."""
    rows = latest_statements(session, scope, "orchard", period)
    if county is not None:  # from the registry, before any label is computed

        def county_of(ps: PostedStatement) -> Any:
            ent = registry.entities.get(ps.account.entity_id)
            return ent.attrs.get("county") if ent is not None else None

        rows = [ps for ps in rows if county_of(ps) == county]
    total = len(rows)
    if colour is None:  # label only the page asked for
        rows = rows[offset : offset + limit]
    labels = []
    for ps in rows:
        try:
            lab = label_of(ps, registry)
        except NotLabelable:
            continue
        if colour is None or lab.colour == colour:
            labels.append(lab)
    if colour is not None:
        total, labels = len(labels), labels[offset : offset + limit]
    return total, labels


def what_if(
    session: Session,
    registry: Any,
    store: Any,
    acct: Account,
    period: str,
    practice: str | None = None,
    area_mu: float | None = None,
) -> list[WhatIf]:
    """The label the orchard would earn with ``practice`` (default: each of
    :data:`accounting.events.PRACTICES`) on ``area_mu`` mu (default: the orchard's area),
    against its latest statement of ``period`` kind.

    Raises :class:`~ledger.errors.NoStatement`, :class:`~ledger.errors.NotLabelable`,
    :class:`~ledger.errors.UnknownEntity` (not in the registry),
    :class:`~ledger.errors.FactorSetUnavailable` and :class:`~ledger.errors.DataUnavailable`
    (the store cannot be read).
    """
    from accounting.events import PRACTICES
    from accounting.labels import what_if as engine_what_if
    from ledger.closing import profile_of, read_activities

    entity_id = acct.entity_id
    ps = latest_statement(session, acct, period)
    stmt = engine_statement(ps)
    ent = registry.entities.get(entity_id)
    if ent is None:
        raise UnknownEntity(f"orchard {entity_id!r} is not in the registry")
    profile = profile_of(ent)
    area = area_mu if area_mu is not None else float(profile.area_mu or 0)
    fs_doc = ps.factor_set or {}
    try:
        fs = factor_set(fs_doc.get("name", DEFAULT_FACTOR_SET), fs_doc.get("version"))
    except Exception as exc:
        raise FactorSetUnavailable(f"factor set {fs_doc!r} cannot be loaded: {exc}") from None
    try:
        activity = read_activities(
            store, [entity_id], Period(ps.period_start, ps.period_end, ps.period_kind)
        )[entity_id]
    except Exception as exc:
        raise DataUnavailable(f"cannot read the orchard's data: {exc}") from None
    out = []
    for p in [practice] if practice else list(PRACTICES):
        doc = engine_what_if(
            profile, stmt.period, activity, fs, p, area, thresholds=thresholds(ps.factor_set)
        )
        out.append(
            WhatIf(
                practice=p,
                area_mu=area,
                before=_with_context(doc["before"], ps, registry),
                after=_with_context(doc["after"], ps, registry),
                delta_emissions_t=doc["delta_emissions_t"],
                delta_sequestration_t=doc["delta_sequestration_t"],
                delta_net_t=doc["delta_net_t"],
                improves=doc["improves"],
            )
        )
    return out
