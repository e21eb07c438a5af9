"""Who may open a live stream: the same API keys and visibility rules as ``/v1``.

The stream is read with ``fetch`` and the key in the ``X-API-Key`` header (or
``Authorization: Bearer``), exactly like the JSON API; the entities asked for must all be
visible to the key (:meth:`access.roles.Principal.can_see`), else 403 — never a silent subset,
so a page cannot be mistaken for "no data".
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import HTTPException, Query, Request

from api import deps
from dashboards.stream import MAX_ENTITIES

_ID = re.compile(r"^[a-z0-9_-]{1,64}$")


def parse_entities(raw: str) -> list[str]:
    """Comma-separated entity ids, checked and de-duplicated (order kept)."""
    ids = [p.strip() for p in raw.split(",") if p.strip()]
    if not ids:
        raise HTTPException(422, "entities: give at least one entity id")
    if len(ids) > MAX_ENTITIES:
        raise HTTPException(422, f"entities: at most {MAX_ENTITIES} per stream")
    bad = [i for i in ids if not _ID.match(i)]
    if bad:
        raise HTTPException(422, f"entities: {bad[0]!r} is not an entity id")
    return list(dict.fromkeys(ids))


def _authorize(request: Request, ids: list[str]) -> None:
    """Authenticate the caller (:mod:`api.deps`) and check that it may see every id."""
    principal = deps.principal_from_request(request)
    lookup = deps.entity_lookup(request)
    hidden = [i for i in ids if not principal.can_see(i, lookup)]
    if hidden:
        raise HTTPException(
            403, f"this key may not read {hidden[0]!r}: ask an admin for a key that covers it"
        )


def stream_entities(
    request: Request,
    entities: Annotated[str, Query(description="comma-separated entity ids")],
) -> list[str]:
    """The checked entity ids of a stream request, after authentication."""
    ids = parse_entities(entities)
    _authorize(request, ids)
    return ids
