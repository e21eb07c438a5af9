"""Create, list, revoke and verify API keys.

A key is ``tzk_<8 hex prefix>_<43 url-safe chars>`` (256 random bits from :mod:`secrets`);
the database keeps only its SHA-256 hex digest. Because the secret has full entropy, a
salted slow hash adds nothing against guessing, and the digest makes verification an indexed
lookup (fast enough for every request). The key is shown once, when created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.models import ApiKey, Lender
from access.roles import Principal, RoleError, check_role
from sitetime import clock

KEY_PREFIX = "tzk_"


class UnknownKey(LookupError):
    """No key with that id."""


def hash_key(key: str) -> str:
    """SHA-256 hex digest of the full key string."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> tuple[str, str]:
    """A new key and its display prefix."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


def create_key(
    session: Session, *, role: str, entities: Sequence[str] = (), name: str = ""
) -> tuple[ApiKey, str]:
    """Store a new key; return the row and the key itself (shown once, never stored).

    Raises :class:`access.roles.RoleError` for a role/entity combination that makes no sense.
    A ``lender`` key belongs to the lender called ``name`` (made when it is new): grants name
    the lender, so every key of one bank reads what the bank was granted.
    """
    entities = sorted(set(entities))
    check_role(role, entities)
    lender_id = None
    if role == "lender":
        if not name.strip():
            raise RoleError('a lender key needs --name "<the lender>" (grants name the lender)')
        lender_id = ensure_lender(session, name.strip()).id
        name = name.strip()
    key, prefix = generate_key()
    row = ApiKey(
        name=name,
        role=role,
        entities=entities,
        prefix=prefix,
        key_hash=hash_key(key),
        lender_id=lender_id,
    )
    session.add(row)
    session.commit()
    return row, key


def ensure_lender(session: Session, name: str) -> Lender:
    """The lender called ``name``, stored when new (not committed here)."""
    row = session.scalars(select(Lender).where(Lender.name == name)).first()
    if row is None:
        row = Lender(name=name)
        session.add(row)
        session.flush()
    return row


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))


def revoke_key(session: Session, key_id: int) -> ApiKey:
    """Mark a key revoked (idempotent: a revoked key keeps its first revocation time)."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise UnknownKey(f"no API key with id {key_id}")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        session.commit()
    return row


def find_key(session: Session, key: str) -> ApiKey | None:
    """The row of a presented key (revoked or not), or None when it is unknown."""
    if not key.startswith(KEY_PREFIX) or len(key) > 128:
        return None
    digest = hash_key(key)
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row


def principal_of(row: ApiKey) -> Principal:
    return Principal(row.id, row.name, row.role, frozenset(row.entities or ()), row.lender_id)


def check_key_shape(key: str) -> None:
    """ValueError, without the key in its message, unless ``key`` has the shape of generated
    keys: ``tzk_<8 characters>_<at least 32 characters>``."""
    parts = key.split("_", 2)
    if (
        not key.startswith(KEY_PREFIX)
        or len(parts) != 3
        or len(parts[1]) != 8
        or len(parts[2]) < 32
    ):
        raise ValueError("the key must look like tzk_<8 hex>_<32+ characters> (generate_key())")


def register_key(
    session: Session,
    key: str,
    *,
    role: str,
    entities: Sequence[str] = (),
    name: str = "",
    development_only: bool = False,
) -> ApiKey:
    """Store a key chosen elsewhere (the development demo key, ``TANZHANG_DEMO_API_KEY``), or
    return it when it is stored already; idempotent. Only its hash is kept.
    ``development_only`` marks a key that an API outside development refuses (and marks a
    stored one so).

    The key must have the shape of generated keys (``tzk_<8 hex>_<at least 32 chars>``):
    make one with ``python -c "from access.keys import generate_key; print(generate_key()[0])"``.
    """
    check_key_shape(key)
    parts = key.split("_", 2)
    found = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if found is not None:
        if development_only and not found.development_only:
            found.development_only = True
            session.commit()
        return found
    entities = sorted(set(entities))
    check_role(role, entities)
    if role == "lender":
        raise RoleError("lender keys are made with create_key (they belong to a lender)")
    row = ApiKey(
        name=name,
        role=role,
        entities=entities,
        prefix=parts[1],
        key_hash=hash_key(key),
        development_only=development_only,
    )
    session.add(row)
    session.commit()
    return row


def mark_development_only(session: Session, key: str) -> ApiKey | None:
    """Mark a stored key development-only (refused outside development); its row, or None."""
    row = find_key(session, key)
    if row is not None and not row.development_only:
        row.development_only = True
        session.commit()
    return row


def count_development_keys(session: Session) -> int:
    """Unrevoked development-only keys (the demo key of ``tanzhang run``)."""
    stmt = select(ApiKey).where(ApiKey.development_only.is_(True), ApiKey.revoked_at.is_(None))
    return len(list(session.scalars(stmt)))
