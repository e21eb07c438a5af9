"""The services' plumbing: the baseline cache is bounded, every kind of service error has an
HTTP status, and a caller's scope lists what it may see."""

from __future__ import annotations

import pytest

from access.roles import Principal
from api.deps import scope_of
from api.errors import SERVICE_STATUS
from ledger import errors
from ledger.accounts_query import ALL, Scope
from ledger.savings_service import ModelCache
from tests.api.conftest import World


def test_model_cache_keeps_the_most_recently_used() -> None:
    cache = ModelCache(ttl_s=3600, max_size=2)
    cache.put(("a",), 1)
    cache.put(("b",), 2)
    assert cache.get(("a",)) == 1  # "b" is now the least recently used
    cache.put(("c",), 3)
    assert len(cache) == 2
    assert cache.get(("b",)) is None
    assert (cache.get(("a",)), cache.get(("c",))) == (1, 3)


def test_model_cache_forgets_after_its_ttl() -> None:
    cache = ModelCache(ttl_s=0.0)
    cache.put(("a",), 1)
    assert cache.get(("a",)) is None
    assert len(cache) == 0


def _service_errors() -> list[type[errors.ServiceError]]:
    found, todo = [], [errors.ServiceError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


@pytest.mark.parametrize("cls", _service_errors(), ids=lambda c: c.__name__)
def test_every_service_error_has_a_status(cls: type[errors.ServiceError]) -> None:
    assert cls.kind in errors.SERVICE_ERROR_KINDS
    assert cls.kind in SERVICE_STATUS
    if cls.__init__ is not errors.ServiceError.__init__:
        return  # builds its own message (e.g. DeviceEntityMismatch(device, entity)); kind checked
    exc = cls("what to do", code="some_code", details={"x": 1})
    assert (exc.code, exc.message, exc.details) == ("some_code", "what to do", {"x": 1})


@pytest.mark.parametrize(
    ("role", "entities", "scope"),
    [
        ("admin", (), ALL),
        ("operator", (), ALL),
        ("energy_manager", ("factory-a",), Scope(entities=frozenset({"factory-a"}))),
        ("account_holder", ("orchard-1",), Scope(entities=frozenset({"orchard-1"}))),
        ("agronomist", (), Scope(kinds=frozenset({"orchard"}))),
        (
            "agronomist",
            ("orchard-2",),
            Scope(entities=frozenset({"orchard-2"}), kinds=frozenset({"orchard"})),
        ),
        ("lender", (), Scope(entities=frozenset())),
    ],
)
def test_scope_of_a_key(role: str, entities: tuple[str, ...], scope: Scope) -> None:
    principal = Principal(key_id=1, name="k", role=role, entities=frozenset(entities))
    assert scope_of(principal) == scope


def test_visibility_is_checked_before_the_parameters(world: World) -> None:
    """``api.deps.VisibleEntity`` runs before the route's own parameters are validated: a key
    that may not see the entity learns nothing from a parameter's problem."""
    bad = world.client.get(
        "/v1/accounts/orchard-2/statements?period=week", headers=world.h("holder")
    )
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "entity_not_allowed"
    own = world.client.get(
        "/v1/accounts/orchard-1/statements?period=week", headers=world.h("holder")
    )
    assert own.status_code == 422 and own.json()["error"]["code"] == "invalid_request"
    bad_id = world.client.get("/v1/accounts/Orchard-1/statements", headers=world.h("holder"))
    assert bad_id.status_code == 422
