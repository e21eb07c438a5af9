"""The carbon credit report through the real app, SqliteStore and closing job (the API
world of tests/api/conftest.py): its figures equal the ledger's and the statements', it is
signed, a tampered copy fails verification, a restatement after issue is detected, the CLI
agrees, and who may read it."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ledger import book
from ledger.closing import close_entities
from ledger.periods import Period
from sitetime import clock
from tests.api.conftest import T0, build_world

SITE = ZoneInfo("Asia/Shanghai")
BUILT = datetime(2026, 6, 15, 10, tzinfo=SITE)  # years 2023, 2024, 2025
ISSUED = BUILT + timedelta(hours=1)
LATER = BUILT + timedelta(hours=2)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    with clock.use_clock(BUILT):
        w = build_world(tmp_path_factory.mktemp("report"))
        # close the other days of factory-a's 2.5 days of data, so its booked days make its year
        ents = [w.registry.entities[i] for i in ("factory-a", "line-a1")]
        with w.app.state.sessions() as session:
            # factory-a's value added is entered: its year is restated with an intensity, so K
            w.registry.entities["factory-a"].attrs["value_added_10k_cny"] = 2.0
            r = close_entities(session, w.store, ents, Period.containing("year", T0),
                               reason="value added entered")  # fmt: skip
            assert r[0].outcome != "failed", r
            for d in (1, 2):
                r = close_entities(
                    session, w.store, ents, Period.containing("day", T0 + timedelta(days=d))
                )
                assert all(x.outcome != "failed" for x in r), r
    with w.client:
        yield w
    w.store.close()
    w.app.state.engine.dispose()


def _report(w, entity: str, role: str = "admin", at: datetime = ISSUED, **params) -> dict:
    with clock.use_clock(at):
        r = w.client.get(f"/v1/accounts/{entity}/credit-report", headers=w.h(role), params=params)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("entity", ["factory-a", "orchard-1", "forest-1"])
def test_year_figures_equal_the_ledger_and_the_statements(world, entity):
    rep = _report(world, entity)
    assert rep["period"]["years"] == [2023, 2024, 2025]
    with world.app.state.sessions() as session:
        acct = book.get_account(session, entity)
        for row in rep["years"]:
            p = Period.containing("year", datetime(row["year"], 7, 1, tzinfo=SITE))
            booked = [s for s in book.statements(session, entity, acct.booking_period,
                                                   p.start, p.end) if s.booked]  # fmt: skip
            assert row["booked_statements"] == len(booked)
            assert row["emissions_t"] == pytest.approx(sum(s.emissions_t for s in booked), abs=1e-9)
            assert row["removals_t"] == pytest.approx(sum(s.removals_t for s in booked), abs=1e-9)
            assert row["net_t"] == pytest.approx(sum(s.net_t for s in booked), abs=1e-9)
            ys = book.statements(session, entity, "year", p.start, p.end)
            if row["year"] == 2025:
                assert len(ys) == 1 and booked
                assert row["year_statement"]["agrees"] is True, (
                    row["emissions_t"],
                    row["removals_t"],
                    row["year_statement"],
                )
                assert row["emissions_t"] == pytest.approx(ys[0].emissions_t, abs=1e-6)
                assert row["removals_t"] == pytest.approx(ys[0].removals_t, abs=1e-6)
            else:
                assert not ys and row["year_statement"] is None and row["emissions_t"] == 0
        # the ledger's balance moved by exactly the report's net over its period
        lo = datetime.fromisoformat(rep["period"]["start"])
        hi = datetime.fromisoformat(rep["period"]["end"])
        moved = book.balance(session, entity, hi).net_t - book.balance(
            session, entity, lo - timedelta(microseconds=1)).net_t  # fmt: skip
    assert rep["totals"]["net_t"] == pytest.approx(moved, abs=1e-6)
    if entity != "forest-1":  # the forest has no telemetry: an all-zero year, still equal
        assert rep["years"][-1]["emissions_t"] > 0


def test_factory_report_has_benchmark_savings_and_rating_rule(world):
    rep = _report(world, "factory-a")
    assert rep["entity"]["lines"] == ["line-a1"]
    assert rep["entity"]["registry"]["industry_code"] == "C2710"
    b25 = next(b for b in rep["benchmark"] if b["year"] == 2025)
    assert b25["industry_code"] == "C2710" and b25["benchmark_origin"] == "table"
    assert b25["k"] == pytest.approx(b25["intensity"] / b25["benchmark"])
    assert b25["colour"] in ("dark_green", "light_green", "yellow", "red")
    rating = rep["rating"]
    assert rating["rule"] == "factory.k_colour" and rating["basis_year"] == 2025
    assert rating["colour"] == b25["colour"] and rating["k"] == b25["k"]
    assert [b["reason"] for b in rep["benchmark"][:2]] == ["no year statement closed"] * 2
    # the year was restated before this report: listed with its reason
    (rs,) = rep["data_quality"]["restatements"]
    assert rs["period_kind"] == "year" and rs["version"] == 2
    assert rs["reason"] == "value added entered"
    assert rep["savings"][0]["line"] == "line-a1"
    assert rep["savings"][0]["status"] == "unavailable"  # no baseline period in the registry
    assert rep["savings"][0]["reason"] == "no_baseline_period"
    assert rep["methods"]["factor_sets"][0]["name"] == "cn-mee-2023"
    assert rep["data_quality"]["rejects"]["count"] == 0
    assert rep["emc"] == []


def test_factory_without_industry_code_is_unrated_with_the_reason(world):
    rep = _report(world, "factory-b", role="operator")
    assert rep["rating"]["colour"] == "unrated" and rep["rating"]["rule"] == "unrated"
    assert "no industry_code in the registry" in rep["rating"]["reason"]


def test_orchard_rating_is_its_latest_rated_label(world):
    rep = _report(world, "orchard-1", role="holder")
    lab = next(x for x in rep["labels"] if x["year"] == 2025)
    assert lab["coverage"] is not None
    rating = rep["rating"]
    if lab["rated"]:
        assert rating["rule"] == "orchard.label" and rating["colour"] == lab["colour"]
        assert rating["colour_zh"] in ("深绿", "浅绿", "黄", "红")
    else:
        assert rating["colour"] == "unrated"
    assert [x["year"] for x in rep["labels"] if x["colour"] is None] == [2023, 2024]


@pytest.mark.parametrize(
    ("role", "entity", "status"),
    [("operator", "factory-a", 200), ("holder", "orchard-1", 200), ("holder", "orchard-2", 403),
     ("em", "factory-a", 403), ("agro", "orchard-1", 403), ("revoked", "orchard-1", 401)],
)  # fmt: skip
def test_who_may_read_a_report(world, role, entity, status):
    with clock.use_clock(ISSUED):
        r = world.client.get(f"/v1/accounts/{entity}/credit-report", headers=world.h(role))
    assert r.status_code == status, r.text


def test_report_without_key_is_refused_but_public_key_is_public(world):
    assert world.client.get("/v1/accounts/orchard-1/credit-report").status_code == 401
    pk = world.client.get("/v1/reports/public-key")
    assert pk.status_code == 200 and pk.json()["algorithm"] == "Ed25519"
    key_file = Path(world.app.state.settings.data_dir) / "report-signing-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600


def _verify(w, doc) -> dict:
    r = w.client.post("/v1/reports/verify", json=doc)
    assert r.status_code == 200, r.text
    return r.json()


def test_signed_report_verifies_and_a_tampered_one_does_not(world):
    rep = _report(world, "factory-a")
    v = rep["verification"]
    assert len(v["digest"]) == 64 and v["signature_algorithm"] == "Ed25519"
    assert v["key_id"] == world.client.get("/v1/reports/public-key").json()["key_id"]
    ok = _verify(world, rep)
    assert ok["authentic"] and ok["valid"] and ok["restated_after_issue"] is False
    bad = copy.deepcopy(rep)
    bad["years"][-1]["emissions_t"] = bad["years"][-1]["emissions_t"] / 2
    res = _verify(world, bad)
    assert not res["authentic"] and not res["valid"] and not res["digest_ok"]
    forged = copy.deepcopy(bad)  # a new digest, but no signature of the programme over it
    from reports.signing import content_digest

    forged["verification"]["digest"] = content_digest(forged)
    res = _verify(world, forged)
    assert res["digest_ok"] and not res["signature_ok"] and not res["authentic"]


def test_restatement_after_issue_is_detected_by_endpoint_and_cli(world, tmp_path, monkeypatch):
    rep = _report(world, "orchard-2", at=ISSUED)
    assert _verify(world, rep)["valid"]
    with clock.use_clock(LATER), world.app.state.sessions() as session:
        res = close_entities(session, world.store, [world.registry.entities["orchard-2"]],
                             Period.containing("year", T0), reason="grid factor corrected",
                             factor_set="cn-mee-2023-east-china")  # fmt: skip
        assert res[0].outcome != "failed", res
    out = _verify(world, rep)
    assert out["authentic"] and not out["valid"] and out["restated_after_issue"] is True
    (r,) = out["ledger"]["restatements"]
    assert r["version"] == 2 and r["reason"] == "grid factor corrected"
    # the report issued after the restatement shows it, with its reason, and is valid
    again = _report(world, "orchard-2", at=LATER + timedelta(hours=1))
    assert again["data_quality"]["restatements"][0]["reason"] == "grid factor corrected"
    assert _verify(world, again)["valid"]

    from tanzhang.cli import main

    settings_dir = Path(world.app.state.settings.data_dir)
    monkeypatch.setenv("TANZHANG_DATA_DIR", str(settings_dir))
    monkeypatch.setenv("TANZHANG_DATABASE_URL", str(world.app.state.engine.url))
    f = tmp_path / "report.json"
    f.write_text(json.dumps(rep, ensure_ascii=False), "utf-8")
    assert main(["report", "verify", str(f)]) == 3  # authentic, restated after issue
    f.write_text(json.dumps(again, ensure_ascii=False), "utf-8")
    assert main(["report", "verify", str(f)]) == 0
    again["totals"]["net_t"] += 1
    f.write_text(json.dumps(again, ensure_ascii=False), "utf-8")
    assert main(["report", "verify", str(f)]) == 1


def test_production_refuses_to_run_without_a_configured_key(monkeypatch, tmp_path):
    from tanzhang.cli import main
    from tanzhang.settings import Settings

    with pytest.raises(ValueError, match="TANZHANG_REPORT_SIGNING_KEY"):
        Settings(environment="production", data_dir=tmp_path)
    monkeypatch.setenv("TANZHANG_ENVIRONMENT", "production")
    monkeypatch.delenv("TANZHANG_REPORT_SIGNING_KEY", raising=False)
    assert main(["report", "verify", str(tmp_path / "x.json")]) == 2
    # configured but missing: never generated in production
    from reports.signing import SigningKeyError, load_signing_key

    s = Settings(environment="production", data_dir=tmp_path,
                 report_signing_key=tmp_path / "missing.pem")  # fmt: skip
    with pytest.raises(SigningKeyError, match="never generated"):
        load_signing_key(s)
    assert not (tmp_path / "missing.pem").exists()
    assert not (tmp_path / "report-signing-key.pem").exists()


def test_report_keygen_writes_a_0600_key_production_then_loads(monkeypatch, tmp_path):
    from reports.signing import load_signing_key
    from tanzhang.cli import main
    from tanzhang.settings import Settings

    key = tmp_path / "signing.pem"
    monkeypatch.setenv("TANZHANG_ENVIRONMENT", "production")
    monkeypatch.setenv("TANZHANG_REPORT_SIGNING_KEY", str(key))
    monkeypatch.setenv("TANZHANG_DATA_DIR", str(tmp_path))
    assert main(["report", "keygen", str(key)]) == 0
    assert key.stat().st_mode & 0o777 == 0o600
    before = key.read_bytes()
    assert main(["report", "keygen", str(key)]) == 2  # never overwritten
    assert key.read_bytes() == before
    assert load_signing_key(Settings()).public_key() is not None


def test_redemptions_and_balance_at_issue_equal_the_ledger(world):
    with clock.use_clock(ISSUED):
        r = world.client.post(
            "/v1/accounts/orchard-1/redemptions",
            json={"amount_t": 1.25, "reference": "CS-2026-001"},
            headers={**world.h("holder"), "Idempotency-Key": "report-test-0001"},
        )
    # a first redemption with this key: 201 (a repeat is decided by the database's unique
    # (account, key), whatever the product clock says)
    assert r.status_code == 201, r.text
    rep = _report(world, "orchard-1", at=ISSUED + timedelta(minutes=5))
    red = rep["redemptions"]
    assert red["count_in_period"] == 0  # made in 2026, after the report's years
    assert red["count_since_period"] == 1 and red["total_since_period_t"] == 1.25
    (item,) = red["items"]
    assert item["reference"] == "CS-2026-001" and item["in_period"] is False
    with world.app.state.sessions() as session:
        at_issue = book.balance(session, "orchard-1", datetime.fromisoformat(rep["issued_at"]))
        at_end = book.balance(session, "orchard-1", datetime.fromisoformat(rep["period"]["end"]))
    assert rep["balance_at_issue"]["redeemed_t"] == at_issue.redeemed_t == 1.25
    assert rep["balance_at_issue"]["available_t"] == at_issue.available_t
    assert rep["balance_at_end"]["available_t"] == at_end.available_t
    assert rep["balance_at_end"]["net_t"] == pytest.approx(rep["totals"]["net_t"])


def test_rejects_of_the_entitys_devices_in_the_period_are_counted(world):
    from telemetry.model import Reject

    in_2025 = int(datetime(2025, 8, 1, tzinfo=SITE).timestamp() * 1000)
    in_2026 = int(datetime(2026, 2, 1, tzinfo=SITE).timestamp() * 1000)

    def rej(device: str, entity: str, ms: int, reason: str, n: int) -> Reject:
        return Reject(reason, "test", f"tanzhang/v1/{entity}/{device}/data", b"{}", ms,
                      entity=entity, device=device, source="report-test",
                      message_ns=ms * 1_000_000 + n)  # fmt: skip

    world.store.write(
        rejects=[
            rej("meter-b1", "line-b1", in_2025, "value_out_of_range", 1),
            rej("meter-b1", "line-b1", in_2025 + 1000, "timestamp_too_old", 2),
            rej("meter-b1", "line-b1", in_2026, "value_out_of_range", 3),  # after the period
            rej("term-o2", "orchard-2", in_2025, "value_out_of_range", 4),  # another entity
        ]
    )
    rep = _report(world, "factory-b", role="operator")
    rj = rep["data_quality"]["rejects"]
    assert rj["count"] == 2 and rj["devices"] == ["meter-b1"]
    assert rj["by_reason"] == {"timestamp_too_old": 1, "value_out_of_range": 1}


def test_cli_verifies_offline_with_the_published_public_key(world, tmp_path, monkeypatch):
    from tanzhang.cli import main

    rep = _report(world, "orchard-1")
    pem = tmp_path / "programme.pem"
    pem.write_text(world.client.get("/v1/reports/public-key").json()["pem"])
    f = tmp_path / "r.json"
    f.write_text(json.dumps(rep), "utf-8")
    monkeypatch.setenv("TANZHANG_DATA_DIR", str(tmp_path))  # no key, no ledger here
    assert main(["report", "verify", "--no-ledger", "--public-key", str(pem), str(f)]) == 0
    rep["rating"]["colour"] = "dark_green" if rep["rating"]["colour"] != "dark_green" else "red"
    f.write_text(json.dumps(rep), "utf-8")
    assert main(["report", "verify", "--no-ledger", "--public-key", str(pem), str(f)]) == 1
    assert not (tmp_path / "report-signing-key.pem").exists()  # verifying never makes a key
