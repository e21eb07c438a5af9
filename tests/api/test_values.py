"""Figures read back through the API equal what the accounting engine computed, and bad
parameters are refused with 422 and a code."""

from __future__ import annotations

import csv
import io

import pytest

from accounting.labels import orchard_label
from accounting.statements import Statement
from ledger import book
from tests.api.conftest import World


def _posted(world: World, entity: str, kind: str):
    with world.app.state.sessions() as s:
        from datetime import UTC, datetime

        rows = book.statements(
            s,
            entity,
            kind,
            datetime(2024, 12, 31, 16, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
        )
        return [(r, Statement.from_dict(r.statement)) for r in rows]


def test_statement_breakdown_equals_engine(world: World) -> None:
    [(ps, stmt)] = _posted(world, "line-a1", "day")
    body = world.client.get(
        "/v1/accounts/line-a1/statements?period=day&start=2025-06-01&end=2025-06-02",
        headers=world.h("em"),
    ).json()
    [item] = body["items"]
    assert item["emissions_by_source"] == pytest.approx(stmt.emissions_t)
    assert item["emissions_by_scope"] == pytest.approx(stmt.emissions_by_scope)
    assert item["emissions_t"] == pytest.approx(stmt.total_emissions_t, abs=1e-6)
    # 59 hourly intervals of 50 kWh in the day's 24 h window: 24 * 50 kWh = 1200 kWh
    assert stmt.activity["electricity_kwh"] == pytest.approx(1200.0)
    assert item["factor_set"]["name"] == ps.factor_set["name"]
    assert item["coverage"] == pytest.approx(stmt.coverage)


def test_balance_equals_ledger(world: World) -> None:
    for entity, role in (("line-a1", "em"), ("orchard-2", "agro")):
        with world.app.state.sessions() as s:
            expected = book.balance(s, entity)
        got = world.client.get(f"/v1/accounts/{entity}/balance", headers=world.h(role)).json()
        assert got["emissions_t"] == pytest.approx(expected.emissions_t)
        assert got["removals_t"] == pytest.approx(expected.removals_t)
        assert got["net_t"] == pytest.approx(expected.removals_t - expected.emissions_t)
        assert got["available_t"] == pytest.approx(expected.available_t)


def test_balance_at_date_before_first_close_is_zero(world: World) -> None:
    got = world.client.get(
        "/v1/accounts/line-a1/balance?at=2025-05-31", headers=world.h("admin")
    ).json()
    # the end of local day 2025-05-31 of the site calendar (Asia/Shanghai)
    assert got["emissions_t"] == 0 and got["at"] == "2025-05-31T16:00:00Z"


def test_label_equals_engine(world: World) -> None:
    [(ps, stmt)] = _posted(world, "orchard-2", "year")
    expected = orchard_label(stmt, thresholds=(1.2, 1.0, 0.8))
    got = world.client.get("/v1/orchards/orchard-2/label", headers=world.h("agro")).json()
    assert got["colour"] == expected.colour
    assert got["colour_zh"] == expected.colour_zh
    assert got["ratio"] == pytest.approx(expected.ratio)
    assert got["explanation"]["total_emissions_t"] == pytest.approx(stmt.total_emissions_t)
    assert got["county"] == "kecheng"


def test_labels_differ_between_orchards_as_inputs_do(world: World) -> None:
    """orchard-2: 3x the urea and a fifth of the trees of orchard-1, so a lower ratio."""
    l1 = world.client.get("/v1/orchards/orchard-1/label", headers=world.h("agro")).json()
    l2 = world.client.get("/v1/orchards/orchard-2/label", headers=world.h("agro")).json()
    assert l2["ratio"] < l1["ratio"]
    by_colour = world.client.get(
        f"/v1/orchards?colour={l2['colour']}", headers=world.h("agro")
    ).json()
    assert "orchard-2" in {x["entity_id"] for x in by_colour["items"]}
    by_county = world.client.get("/v1/orchards?county=changshan", headers=world.h("agro")).json()
    assert [x["entity_id"] for x in by_county["items"]] == ["orchard-1"]


def test_what_if_more_grass_never_lowers_sequestration(world: World) -> None:
    body = world.client.get(
        "/v1/orchards/orchard-2/what-if?practice=grass_cover&area_mu=20", headers=world.h("agro")
    ).json()
    [w] = body
    assert w["practice"] == "grass_cover" and w["area_mu"] == 20
    assert w["delta_sequestration_t"] >= 0
    all_three = world.client.get("/v1/orchards/orchard-2/what-if", headers=world.h("agro")).json()
    assert [x["practice"] for x in all_three] == [
        "grass_cover",
        "straw_return",
        "organic_substitution",
    ]


def test_label_of_a_line_is_422(world: World) -> None:
    r = world.client.get("/v1/orchards/line-a1/label", headers=world.h("admin"))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "not_an_orchard"


def test_label_without_statement_is_404(world: World) -> None:
    r = world.client.get("/v1/orchards/orchard-1/label?period=hour", headers=world.h("admin"))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "no_statement"


def test_statements_csv(world: World) -> None:
    r = world.client.get(
        "/v1/accounts/line-a1/statements.csv?start=2025-01-01&end=2026-01-01",
        headers=world.h("em"),
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 1
    assert rows[0]["period_start"] == "2025-05-31T16:00:00+00:00"  # local midnight, in UTC
    assert float(rows[0]["emissions_electricity_t"]) == pytest.approx(float(rows[0]["emissions_t"]))


def test_audit_trail_lists_entries(world: World) -> None:
    [v] = world.client.get(
        "/v1/accounts/line-a1/audit?start=2025-06-01", headers=world.h("em")
    ).json()
    assert v["version"] == 1 and v["current"] is True
    # 2025-06-01 names the site's local day (Asia/Shanghai): it starts 2025-05-31 16:00Z
    assert v["period_start"].startswith("2025-05-31T16:00")
    assert sorted(e["kind"] for e in v["entries"]) == ["emission_debit", "removal_credit"]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/v1/accounts/line-a1/balance?at=2025-02-30", "invalid_date"),
        ("/v1/accounts/line-a1/balance?at=yesterday", "invalid_request"),
        ("/v1/accounts/line-a1/balance?at=2025-06-01T00:00:00", "invalid_request"),
        ("/v1/accounts/line-a1/balance?at=2025-06-31", "invalid_date"),
        ("/v1/rejects?since=0.5", "invalid_request"),
        ("/v1/accounts/line-a1/statements?start=2025-06-02&end=2025-06-01", "invalid_window"),
        ("/v1/accounts/line-a1/statements?period=week", "invalid_request"),
        ("/v1/accounts?limit=1001", "invalid_request"),
        ("/v1/accounts?limit=0", "invalid_request"),
        ("/v1/accounts?offset=-1", "invalid_request"),
        ("/v1/accounts?kind=planet", "invalid_request"),
        ("/v1/accounts/Line_A1/balance", "invalid_request"),
        ("/v1/orchards/orchard-1/what-if?area_mu=-3", "invalid_request"),
        ("/v1/orchards/orchard-1/what-if?practice=burning", "invalid_request"),
    ],
)
def test_bad_parameters_are_422(world: World, url: str, code: str) -> None:
    r = world.client.get(url, headers=world.h("admin"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


def test_pagination(world: World) -> None:
    page1 = world.client.get("/v1/accounts?limit=3", headers=world.h("admin")).json()
    page2 = world.client.get("/v1/accounts?limit=3&offset=3", headers=world.h("admin")).json()
    ids = [a["entity_id"] for a in page1["items"] + page2["items"]]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert page1["total"] == 7 and page1["limit"] == 3 and page2["offset"] == 3


def test_printable_statement(world: World) -> None:
    r = world.client.get(
        "/v1/accounts/orchard-1/statement.html?period=year&start=2025-01-01&end=2026-01-01",
        headers=world.h("holder"),
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "碳账户对账单" in r.text and "orchard-1" in r.text
    assert "cn-mee-2023" in r.text
    assert (
        world.client.get(
            "/v1/accounts/orchard-2/statement.html", headers=world.h("holder")
        ).status_code
        == 403
    )


@pytest.mark.parametrize("at", [None, "2025-05-31", "2025-06-01", "2025-06-02", "2025-12-31"])
@pytest.mark.parametrize("entity", ["line-a1", "orchard-1", "orchard-2", "factory-a"])
def test_fast_balance_equals_ledger_balance(world: World, entity: str, at: str | None) -> None:
    from api.params import parse_when
    from ledger.balances import fast_balance

    cutoff = parse_when(at, "at", end_of_day=True)
    with world.app.state.sessions() as s:
        assert fast_balance(s, entity, cutoff) == book.balance(s, entity, cutoff)


def test_fast_balance_unknown_account(world: World) -> None:
    from ledger.balances import fast_balance
    from ledger.errors import UnknownAccount

    with world.app.state.sessions() as s, pytest.raises(UnknownAccount):
        fast_balance(s, "nobody", None)


def test_orchard_listing_pages(world: World) -> None:
    first = world.client.get("/v1/orchards?limit=1", headers=world.h("agro")).json()
    second = world.client.get("/v1/orchards?limit=1&offset=1", headers=world.h("agro")).json()
    assert first["total"] == second["total"] == 2
    assert [x["entity_id"] for x in first["items"] + second["items"]] == ["orchard-1", "orchard-2"]


def test_orchards_csv(world: World) -> None:
    r = world.client.get("/v1/orchards.csv?county=kecheng", headers=world.h("agro"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    label = world.client.get("/v1/orchards/orchard-2/label", headers=world.h("agro")).json()
    assert [x["entity_id"] for x in rows] == ["orchard-2"]
    assert rows[0]["colour"] == label["colour"]
    assert float(rows[0]["ratio"]) == pytest.approx(label["ratio"], rel=1e-4)
    assert world.client.get("/v1/orchards.csv", headers=world.h("em")).text.count("\n") == 1


def test_repeated_query_parameter_is_422(world: World) -> None:
    r = world.client.get("/v1/orchards?county=a&county=b", headers=world.h("admin"))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "repeated_parameter"
