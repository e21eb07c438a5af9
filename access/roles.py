"""Roles and what each may see and do.

========================  ==============================================  ===============
role                      sees                                            writes
========================  ==============================================  ===============
``admin``                 everything                                      everything
``operator``              everything (programme staff)                    nothing
``energy_manager``        its named factories and their lines             field records
``agronomist``            orchards (all, or the named ones if any)        field records
``account_holder``        its own entity (and the entity's children)      records, redemptions
``lender``                only the credit reports of the entities that    nothing
                          granted its lender consent, while it is valid
========================  ==============================================  ===============

A ``lender`` key belongs to a lender (a bank, :class:`access.models.Lender`); it passes no
route but the credit report's (:func:`api.deps.authenticate` refuses it everywhere else),
and there only with a valid consent of the entity, checked in the database on each request
(:mod:`access.consent`).

Visibility is decided per entity from its id, kind and ancestors (:meth:`Principal.can_see`),
so listings are filtered with the same rule as single lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

ROLES = ("admin", "operator", "energy_manager", "agronomist", "account_holder", "lender")
#: roles whose keys may change data (post records, redeem) within what they see
WRITE_ROLES = ("admin", "energy_manager", "agronomist", "account_holder")
AGRONOMIST_KINDS = ("orchard",)


class RoleError(ValueError):
    """A key's role and entities don't fit together; the message says what to change."""


def check_role(role: str, entities: Sequence[str]) -> None:
    """Refuse a role/entity combination that makes no sense (used when creating a key)."""
    if role not in ROLES:
        raise RoleError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if role in ("admin", "operator") and entities:
        raise RoleError(f"a {role} key sees every entity: give no --entity")
    if role == "energy_manager" and not entities:
        raise RoleError("an energy_manager key needs at least one --entity (a factory id)")
    if role == "account_holder" and len(entities) != 1:
        raise RoleError("an account_holder key needs exactly one --entity (its own)")
    if role == "lender" and entities:
        raise RoleError(
            "a lender key sees the reports of entities that grant its lender consent: "
            "give no --entity"
        )


#: kind and parent of an entity id, or None when the id is unknown
EntityLookup = Callable[[str], tuple[str, str | None] | None]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind an API key."""

    key_id: int
    name: str
    role: str
    entities: frozenset[str]
    #: the lender a ``lender`` key belongs to (None for every other role)
    lender_id: int | None = None

    @property
    def sees_all(self) -> bool:
        return self.role in ("admin", "operator")

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    @property
    def is_lender(self) -> bool:
        return self.role == "lender"

    def can_see(self, entity_id: str, lookup: EntityLookup) -> bool:
        """Whether this caller may read entity ``entity_id`` (kind and parents via ``lookup``).

        Never for a lender: its only door is the credit report, by consent.
        """
        if self.sees_all:
            return True
        if self.is_lender:
            return False
        info = lookup(entity_id)
        if info is None:
            return False
        kind = info[0]
        if self.role == "agronomist" and kind not in AGRONOMIST_KINDS:
            return False
        if self.role == "agronomist" and not self.entities:
            return True
        return any(e in self.entities for e in self._lineage(entity_id, lookup))

    @staticmethod
    def _lineage(entity_id: str, lookup: EntityLookup) -> Iterable[str]:
        seen: set[str] = set()
        current: str | None = entity_id
        while current and current not in seen:
            seen.add(current)
            yield current
            info = lookup(current)
            current = info[1] if info else None

    def describe(self) -> str:
        if self.is_lender:
            return f"key {self.key_id} (lender {self.lender_id}; reports by consent)"
        scope = "all entities" if self.sees_all else ", ".join(sorted(self.entities)) or "orchards"
        return f"key {self.key_id} ({self.role}; {scope})"
