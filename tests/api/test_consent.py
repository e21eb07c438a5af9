"""Consent and the lender role through the real app (issue 12 items 1 and 5).

A lender reads an entity's credit report only with a valid grant of that entity at the
current clock time: without one, with an expired or revoked one, or on another entity it is
refused; it is refused on every other route; every access is logged where the entity lists
it; only the entity (its account holder, an admin or an operator) grants and lists. The same
tests run on PostgreSQL (``pg`` parameter, marked ``servers``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from access.keys import create_key
from dashboards.routes import router as dashboards_router
from sitetime import clock
from tests.api.conftest import World, build_world

SITE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 15, 10, tzinfo=SITE)
REPORT = "/v1/accounts/{e}/credit-report"
REPORT_ROUTES = {
    "/v1/accounts/{entity_id}/credit-report",
    "/v1/accounts/{entity_id}/credit-report.html",
    "/v1/accounts/{entity_id}/credit-report.pdf",
}


@dataclass
class Lenders:
    world: World
    bank: dict[str, str]  # X-API-Key headers of "Quzhou Rural Bank" (two keys) ...
    other: dict[str, str]  # ... and of another lender
    bank2: dict[str, str]
    holder_b: dict[str, str]  # the account holder of factory-b


def _make(w: World) -> Lenders:
    with Session(w.app.state.engine) as s:
        bank = create_key(s, role="lender", name="Quzhou Rural Bank")[1]
        bank2 = create_key(s, role="lender", name="Quzhou Rural Bank")[1]
        other = create_key(s, role="lender", name="Other Bank")[1]
        holder_b = create_key(s, role="account_holder", entities=["factory-b"])[1]
    return Lenders(w, *({"X-API-Key": k} for k in (bank, other, bank2, holder_b)))


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("pg", marks=pytest.mark.servers)],
)
def lw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lenders]:
    tmp = tmp_path_factory.mktemp(f"consent-{request.param}")
    if request.param == "sqlite":
        w = build_world(tmp)
        with w.client:
            yield _make(w)
    else:
        from tests.pg import postgres_server

        with postgres_server() as pg:
            w = build_world(tmp, database_url=pg.create_database("consent"))
            with w.client:
                yield _make(w)
            w.app.state.engine.dispose()
    w.store.close()
    w.app.state.engine.dispose()


def _grant(lw: Lenders, entity: str, *, who: str | dict = "admin", **body) -> dict:
    body = {
        "lender": "Quzhou Rural Bank",
        "purpose": "green loan application 2026-117",
        "valid_from": NOW.isoformat(),
        "valid_until": (NOW + timedelta(days=30)).isoformat(),
        **body,
    }
    h = lw.world.h(who) if isinstance(who, str) else who
    with clock.use_clock(NOW):
        r = lw.world.client.post(f"/v1/accounts/{entity}/consents", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def _report(lw: Lenders, entity: str, h: dict, at: datetime) -> int:
    with clock.use_clock(at):
        r = lw.world.client.get(REPORT.format(e=entity), headers=h)
    if r.status_code == 403:
        assert r.json()["error"]["code"] in ("consent_required", "role_not_allowed"), r.text
    return r.status_code


def _revoke_all(lw: Lenders, entity: str) -> None:
    c, h = lw.world.client, lw.world.h("admin")
    for g in c.get(f"/v1/accounts/{entity}/consents", headers=h).json()["items"]:
        assert c.delete(f"/v1/accounts/{entity}/consents/{g['id']}", headers=h).status_code == 200


def test_lender_without_a_grant_is_refused(lw: Lenders) -> None:
    assert _report(lw, "forest-1", lw.bank, NOW) == 403


def test_grant_opens_the_report_for_every_key_of_the_lender_and_only_in_its_period(
    lw: Lenders,
) -> None:
    g = _grant(lw, "orchard-2")
    assert g["status"] == "active" and g["lender"] == "Quzhou Rural Bank"
    assert _report(lw, "orchard-2", lw.bank, NOW + timedelta(hours=1)) == 200
    assert _report(lw, "orchard-2", lw.bank2, NOW + timedelta(days=29)) == 200
    # another lender, before the period, at and after its end: refused
    assert _report(lw, "orchard-2", lw.other, NOW + timedelta(hours=1)) == 403
    assert _report(lw, "orchard-2", lw.bank, NOW - timedelta(seconds=1)) == 403
    assert _report(lw, "orchard-2", lw.bank, NOW + timedelta(days=30)) == 403
    assert _report(lw, "orchard-2", lw.bank, NOW + timedelta(days=400)) == 403
    with clock.use_clock(NOW + timedelta(days=31)):
        listed = lw.world.client.get("/v1/accounts/orchard-2/consents", headers=lw.world.h("admin"))
    assert [c["status"] for c in listed.json()["items"]] == ["expired"]
    _revoke_all(lw, "orchard-2")


def test_the_page_and_the_pdf_follow_the_same_grant(lw: Lenders) -> None:
    _grant(lw, "forest-1")
    with clock.use_clock(NOW + timedelta(hours=1)):
        r = lw.world.client.get("/v1/accounts/forest-1/credit-report.html?lang=en", headers=lw.bank)
        assert r.status_code == 200, r.text
        r = lw.world.client.get("/v1/accounts/forest-1/credit-report.html", headers=lw.other)
        assert r.status_code == 403
    _revoke_all(lw, "forest-1")


def test_revocation_stops_access_at_once(lw: Lenders) -> None:
    g = _grant(lw, "orchard-1", who="holder")
    at = NOW + timedelta(hours=2)
    assert _report(lw, "orchard-1", lw.bank, at) == 200  # the key is now in the key cache
    with clock.use_clock(at):
        r = lw.world.client.delete(
            f"/v1/accounts/orchard-1/consents/{g['id']}", headers=lw.world.h("holder")
        )
    assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
    assert _report(lw, "orchard-1", lw.bank, at) == 403  # same clock time, no waiting
    assert _report(lw, "orchard-1", lw.bank2, at) == 403


def test_a_grant_for_one_entity_does_not_open_another(lw: Lenders) -> None:
    _grant(lw, "factory-a")
    at = NOW + timedelta(hours=3)
    assert _report(lw, "factory-a", lw.bank, at) == 200
    for other in ("line-a1", "factory-b", "orchard-1", "no-such-entity"):
        assert _report(lw, other, lw.bank, at) == 403, other
    _revoke_all(lw, "factory-a")


def _routes(w: World) -> list[tuple[str, str]]:
    found = {
        (path, method.upper())
        for path, ops in w.app.openapi()["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    }
    for r in dashboards_router.routes:
        for m in getattr(r, "methods", None) or ():
            if m in ("GET", "POST"):
                found.add((r.path, m))
    return sorted(found)


IDS = {"entity_id": "orchard-1", "factory_id": "factory-a", "orchard_id": "orchard-1",
       "line_id": "line-a1", "consent_id": "1", "device_id": "meter-a1", "name": "app.css",
       "event_id": "x", "id": "1"}  # fmt: skip


def test_a_lender_is_refused_on_every_other_route(lw: Lenders) -> None:
    """Every route that refuses a caller without a key refuses a lender key (403), even for
    an entity that granted it: only the report routes answer it."""
    w = lw.world
    _grant(lw, "orchard-1")
    at = NOW + timedelta(hours=4)
    checked = 0
    with clock.use_clock(at):
        for path, method in _routes(w):
            url = re.sub(r"\{(\w+)\}", lambda m: IDS.get(m.group(1), "orchard-1"), path)
            if path == "/dashboards/stream":
                url += "?entities=orchard-1"
            anonymous = w.client.request(method, url, json={})
            if anonymous.status_code != 401:
                continue  # a public route (health, public key, verify, static pages)
            r = w.client.request(method, url, json={}, headers=lw.bank)
            if path in REPORT_ROUTES and not path.endswith(".pdf"):
                assert r.status_code == 200, (method, url, r.text)
            elif path in REPORT_ROUTES:
                assert r.status_code in (200, 503), (method, url, r.text)  # no printer: 503
            else:
                assert r.status_code == 403, (method, url, r.status_code, r.text)
            checked += 1
    assert checked > 30, checked
    _revoke_all(lw, "orchard-1")


def test_access_log_lists_granted_and_refused_with_time_and_lender(lw: Lenders) -> None:
    w = lw.world
    g = _grant(lw, "line-b1", who="admin", purpose="working-capital loan 88")
    t_ok, t_no = NOW + timedelta(hours=5), NOW + timedelta(days=40)
    assert _report(lw, "line-b1", lw.bank, t_ok) == 200
    assert _report(lw, "line-b1", lw.other, t_ok) == 403
    assert _report(lw, "line-b1", lw.bank, t_no) == 403
    for who in ("admin", "operator"):
        r = w.client.get("/v1/accounts/line-b1/report-accesses", headers=w.h(who))
        assert r.status_code == 200, r.text
    r = w.client.get("/v1/accounts/line-b1/report-accesses", headers=lw.holder_b)  # parent's
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3
    newest, refused_other, granted = body["items"]
    assert granted["granted"] is True and granted["consent_id"] == g["id"]
    assert granted["lender"] == "Quzhou Rural Bank" and granted["reason"] == ""
    assert datetime.fromisoformat(granted["at"]) == t_ok
    assert granted["path"] == "/v1/accounts/line-b1/credit-report"
    assert refused_other["granted"] is False and refused_other["lender"] == "Other Bank"
    assert refused_other["reason"] == "no_consent"
    assert newest["granted"] is False and newest["reason"] == "consent_expired"
    assert datetime.fromisoformat(newest["at"]) == t_no
    assert {x["key_id"] for x in body["items"]} == {granted["key_id"], refused_other["key_id"]}
    _revoke_all(lw, "line-b1")


@pytest.mark.parametrize("who", ["em", "agro"])
def test_other_roles_cannot_manage_consent(lw: Lenders, who: str) -> None:
    w = lw.world
    for path in ("consents", "report-accesses"):
        r = w.client.get(f"/v1/accounts/factory-a/{path}", headers=w.h(who))
        assert r.status_code == 403, r.text


def test_account_holder_of_another_entity_cannot_grant_or_list(lw: Lenders) -> None:
    w = lw.world
    h = w.h("holder")  # the account holder of orchard-1
    body = {"lender": "Quzhou Rural Bank", "purpose": "x",
            "valid_until": (NOW + timedelta(days=1)).isoformat()}  # fmt: skip
    with clock.use_clock(NOW):
        r = w.client.post("/v1/accounts/orchard-2/consents", json=body, headers=h)
        assert r.status_code == 403 and r.json()["error"]["code"] == "entity_not_allowed"
        for path in ("consents", "report-accesses"):
            r = w.client.get(f"/v1/accounts/orchard-2/{path}", headers=h)
            assert r.status_code == 403, r.text
        r = w.client.delete("/v1/accounts/orchard-2/consents/1", headers=h)
        assert r.status_code == 403
        # nor revoke another entity's grant through its own entity
        g = _grant(lw, "orchard-2")
        r = w.client.delete(f"/v1/accounts/orchard-1/consents/{g['id']}", headers=h)
        assert r.status_code == 404
    _revoke_all(lw, "orchard-2")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"lender": "No Such Bank"}, 404, "lender_not_found"),
        ({"purpose": "   "}, 422, "purpose_required"),
        ({"valid_until": None}, 422, None),
        ({"valid_until": (NOW - timedelta(days=1)).isoformat()}, 422, "invalid_period"),
        ({"valid_until": "2026-07-01T00:00:00"}, 422, None),  # no time zone
    ],
)
def test_a_grant_needs_a_known_lender_a_purpose_and_an_end(lw, change, status, code) -> None:
    body = {"lender": "Quzhou Rural Bank", "purpose": "loan",
            "valid_until": (NOW + timedelta(days=1)).isoformat(), **change}  # fmt: skip
    body = {k: v for k, v in body.items() if v is not None}
    with clock.use_clock(NOW):
        r = lw.world.client.post(
            "/v1/accounts/orchard-1/consents", json=body, headers=lw.world.h("admin")
        )
    assert r.status_code == status, r.text
    if code:
        assert r.json()["error"]["code"] == code


def test_cli_makes_lender_keys_on_a_database_made_before_lenders(tmp_path, capsys) -> None:
    import json

    from sqlalchemy import create_engine, text

    from access.cli import main
    from access.keys import find_key, principal_of
    from tests.api.test_demo_key import OLD_TABLE

    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OLD_TABLE))
    assert main(["create", "--role", "lender"], database_url=url) == 2
    assert (
        main(["create", "--role", "lender", "--name", "B", "--entity", "x"], database_url=url) == 2
    )
    capsys.readouterr()
    assert (
        main(["create", "--role", "lender", "--name", "Quzhou Rural Bank"], database_url=url) == 0
    )
    k1 = capsys.readouterr().out.strip()
    assert (
        main(["create", "--role", "lender", "--name", "Quzhou Rural Bank"], database_url=url) == 0
    )
    k2 = capsys.readouterr().out.strip()
    with Session(engine) as s:
        p1, p2 = principal_of(find_key(s, k1)), principal_of(find_key(s, k2))
    assert p1.role == "lender" and p1.lender_id is not None and p1.lender_id == p2.lender_id
    assert main(["list", "--json"], database_url=url) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["role"], d["name"], d["lender_id"]) for d in listed] == [
        ("lender", "Quzhou Rural Bank", p1.lender_id)
    ] * 2
    engine.dispose()
