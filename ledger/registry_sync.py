"""Accounts for the entities of the registry: create, update, look up, list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.db import write_transaction
from ledger.errors import InvalidEntity, InvalidPeriod, UnknownAccount
from ledger.models import ENTITY_KINDS, Account
from ledger.periods import PERIOD_KINDS


def _field(entity: Any, name: str, default: Any = None) -> Any:
    """``entity[name]`` or ``entity.name``, else ``entity.attrs[name]`` (registry entities)."""
    if isinstance(entity, dict):
        return entity.get(name, default)
    value = getattr(entity, name, None)
    if value is None:
        value = (getattr(entity, "attrs", None) or {}).get(name)
    return default if value is None else value


def ensure_accounts(
    session: Session, entities: Iterable[Any], *, booking_period: str = "day"
) -> list[Account]:
    """Create or update one account per entity; commit.

    Parameters
    ----------
    session : Session
    entities : iterable of dict or object
        Each with ``id`` (or ``entity_id``), ``kind`` (factory | line | orchard | forest),
        optional ``parent`` (an entity id, in this batch or already in the database),
        ``name`` and ``booking_period``. Registry entities fit as they are.
    booking_period : str
        Period kind whose statements move the balance, for entities that don't say.

    Returns
    -------
    list of Account, in the order given. Accounts not named are left alone (an entity
    removed from the registry keeps its history).
    """
    wanted: dict[str, dict[str, Any]] = {}
    for ent in entities:
        eid = _field(ent, "id") or _field(ent, "entity_id")
        if not eid:
            raise InvalidEntity(f"entity {ent!r} has no id")
        kind = _field(ent, "kind")
        if kind not in ENTITY_KINDS:
            raise InvalidEntity(
                f"entity {eid!r} has kind {kind!r}; use one of {', '.join(ENTITY_KINDS)}"
            )
        book = _field(ent, "booking_period") or booking_period
        if book not in PERIOD_KINDS:
            raise InvalidPeriod(
                f"entity {eid!r}: booking period {book!r} is not one of {', '.join(PERIOD_KINDS)}"
            )
        wanted[str(eid)] = {
            "kind": kind,
            "parent": _field(ent, "parent"),
            "name": _field(ent, "name"),
            "booking_period": book,
        }
    with write_transaction(session):
        existing = {
            a.entity_id: a
            for a in session.scalars(
                select(Account)
                .where(Account.entity_id.in_(list(wanted)))
                .execution_options(populate_existing=True)
            )
        }
        parents = {v["parent"] for v in wanted.values() if v["parent"]} - set(wanted)
        if parents:
            known = set(
                session.scalars(select(Account.entity_id).where(Account.entity_id.in_(parents)))
            )
            if missing := sorted(parents - known):
                raise InvalidEntity(
                    f"parent entity {missing[0]!r} is neither in this batch nor in the "
                    "accounts database: add it to the registry first"
                )
        out = []
        for eid, attrs in wanted.items():
            acct = existing.get(eid)
            if acct is None:
                acct = Account(entity_id=eid, **attrs)
                session.add(acct)
            else:
                for k, v in attrs.items():
                    if getattr(acct, k) != v:
                        setattr(acct, k, v)
            out.append(acct)
    return out


def get_account(session: Session, entity_id: str, *, lock: bool = False) -> Account:
    """The account of ``entity_id``; with ``lock``, ``SELECT ... FOR UPDATE`` (PostgreSQL).

    Raises
    ------
    UnknownAccount
    """
    q = select(Account).where(Account.entity_id == entity_id)
    if lock:
        q = q.with_for_update()
    acct = session.scalars(q.execution_options(populate_existing=True)).one_or_none()
    if acct is None:
        raise UnknownAccount(entity_id)
    return acct


def list_accounts(
    session: Session,
    *,
    kind: str | None = None,
    parent: str | None = None,
    ids: Sequence[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Account]:
    """Accounts ordered by entity id, filtered by kind, parent entity and/or entity ids."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit ({limit}) and offset ({offset}) must not be negative")
    q = select(Account).order_by(Account.entity_id)
    if kind is not None:
        q = q.where(Account.kind == kind)
    if parent is not None:
        q = q.where(Account.parent == parent)
    if ids is not None:
        q = q.where(Account.entity_id.in_(list(ids)))
    return list(session.scalars(q.limit(limit).offset(offset)))
