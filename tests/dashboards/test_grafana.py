"""Every InfluxQL query of the Grafana dashboards runs against a real influxd.

Grafana's macros and template variables are replaced by the values Grafana would put there
for an absolute range, the 24 hours up to a fixed instant (``$timeFilter`` ->
``time >= <from>ms and time <= <to>ms``, ``$__interval`` -> ``1m``, a multi-value variable
``$entity`` -> ``(a|b)``) after demo data up to that instant was written with
:class:`telemetry.influx.InfluxStore` (retention left alone, so the fixed-date points are kept
whatever the machine's date).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from dashboards.grafana import build
from telemetry.influx import InfluxStore
from telemetry.model import Reading, Reject
from tests.dashboards import demo

# tests/servers.py hands Popen a log file it never closes (reported by telemetry; same filter)
pytestmark = [
    pytest.mark.servers,
    pytest.mark.filterwarnings("ignore:unclosed file.*(influxd|stdout)\\.log:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*(influxd|stdout)\\.log:pytest.PytestUnraisableExceptionWarning"
    ),
]

GRAFANA = Path(build.__file__).parent
#: the end of the dashboards' time range and of the demo data [ms since the epoch]
NOW_MS = int(datetime(2026, 6, 10, 4, 0, tzinfo=UTC).timestamp() * 1000)
DAY_MS = 86_400_000
DB = "grafana_check"
VARIABLES = {
    "entity": "(line-a1|line-a2)",
    "orchard": "(orchard-cs1|orchard-kc2)",
    "gateway": "(gw-1)",
}


def all_queries() -> list[tuple[str, str, str]]:
    """(file, panel or variable title, query) of every dashboard JSON file."""
    out = []
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for var in doc.get("templating", {}).get("list", []):
            if var.get("type") == "query":
                out.append((path.name, "variable " + var["name"], var["query"]))
        for panel in doc["panels"]:
            for t in panel.get("targets", []):
                out.append((path.name, panel["title"], t["query"]))
    return out


def concrete(query: str) -> str:
    """The query as Grafana sends it for the 24 h up to :data:`NOW_MS` (an absolute range)
    with all variables selected."""
    q = query.replace("$timeFilter", f"time >= {NOW_MS - DAY_MS}ms and time <= {NOW_MS}ms")
    q = q.replace("$__interval_ms", "60000").replace("$__interval", "1m")
    q = q.replace("$__from", str(NOW_MS - DAY_MS)).replace("$__to", str(NOW_MS))
    for name, value in VARIABLES.items():
        q = q.replace("${" + name + "}", value).replace("$" + name, value)
    return q


@pytest.fixture(scope="module")
def influx(influxd_session):
    """The session's influxd with an hour of factory, orchard, reject and gateway data."""
    store = InfluxStore(influxd_session.url, db=DB, retention=None)
    store.ensure_ready()
    now = NOW_MS
    readings = demo.day_of_readings(now, hours=2)
    for i in range(36):  # three hours, every 5 min
        t = now - i * 300_000
        readings.append(
            Reading(
                "orchard-cs1",
                "soil-cs1",
                t,
                {
                    "soil_moisture_pct": 30.0 + i,
                    "soil_temp_c": 18.0,
                    "air_temp_c": 21.0,
                    "solar_wm2": 400.0,
                    "rain_mm_total": 120.0 - i * 0.5,
                },
            )
        )
    events = [e for e in demo.orchard_events(now) if e.ts_ms > now - 20 * 86_400_000]
    events += demo.orchard_events(now + 10 * 86_400_000)[:3]  # a few within the last 24 h
    events = [e for e in events if e.ts_ms <= now]
    from telemetry.model import Event

    events.append(
        Event(
            "orchard-cs1",
            "http",
            now - 3_600_000,
            "recent-urea",
            "fertilizer_applied",
            {"product": "urea", "mass_kg": 50.0, "n_frac": 0.46, "organic": False},
        )
    )
    rejects = [
        Reject(
            "unknown_device",
            "device meter-x is not registered",
            "tanzhang/v1/x/meter-x/data",
            b'{"values":{}}',
            now - 60_000,
            None,
            "x",
            "meter-x",
        )
    ]
    store.write(readings=readings, events=events, rejects=rejects)
    for i in range(10):
        store.write_gateway_stats(
            "gw-1",
            now - (10 - i) * 60_000,
            {
                "received": 100.0 * i,
                "acked": 100.0 * i,
                "readings_written": 95.0 * i,
                "rejected": float(i),
                "spool_bytes": 0.0,
                "held_messages": 0.0,
                "spool_oldest_age_seconds": 0.0,
                "store_up": 1.0,
                "mqtt_connected": 1.0,
                "store_unavailable": 0.0,
                "store_rejected_writes": 0.0,
                "store_errors": 0.0,
                "devices_online": 3.0,
                "devices_offline": 0.0,
                "broker_dropped_messages": 0.0,
            },
        )
    yield influxd_session
    store.close()


def test_the_json_files_are_what_the_builder_writes():
    for name, make in build.BOARDS.items():
        on_disk = json.loads((GRAFANA / "dashboards" / name).read_text(encoding="utf-8"))
        assert on_disk == json.loads(json.dumps(make().to_dict())), (
            f"{name} is stale: run python -m dashboards.grafana.build"
        )


def test_provisioning_points_at_influxql_database_tanzhang():
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/influxdb.yaml").read_text())
    [source] = ds["datasources"]
    assert source["type"] == "influxdb"
    assert source["url"] == "http://influxdb:8086"
    assert source["jsonData"]["version"] == "InfluxQL"
    assert source["jsonData"]["dbName"] == "tanzhang"
    uids = {
        t["datasource"]["uid"]
        for _, doc in (
            (p, json.loads(p.read_text())) for p in (GRAFANA / "dashboards").glob("*.json")
        )
        for panel in doc["panels"]
        for t in panel["targets"]
    }
    assert uids == {source["uid"]}
    prov = yaml.safe_load((GRAFANA / "provisioning/dashboards/dashboards.yaml").read_text())
    assert prov["providers"][0]["type"] == "file"


QUERIES = all_queries()


def test_there_are_queries_in_every_dashboard():
    assert {f for f, _, _ in QUERIES} == {
        "factory-lines.json",
        "orchards.json",
        "gateway-health.json",
    }
    assert len(QUERIES) >= 25


@pytest.mark.parametrize(
    ("file", "title", "query"), QUERIES, ids=[f"{f}:{t}" for f, t, _ in QUERIES]
)
def test_query_runs_on_influxd(influx, file, title, query):
    q = concrete(query)
    assert not re.search(r"\$[A-Za-z_{]", q), f"unreplaced macro in {q}"
    series = influx.query(q, db=DB)  # raises on an InfluxQL error
    gauges_only_elsewhere = ("gas_m3_total", "steam_t_total")
    if not any(f in q for f in gauges_only_elsewhere):
        assert series, f"{file} / {title}: no data for {q}"


def test_compose_mounts_what_the_provider_reads():
    compose = yaml.safe_load((GRAFANA.parents[1] / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    prov = yaml.safe_load((GRAFANA / "provisioning/dashboards/dashboards.yaml").read_text())
    path = prov["providers"][0]["options"]["path"]
    assert f"./dashboards/grafana/dashboards:{path}:ro" in mounts
    assert "./dashboards/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    ds = (GRAFANA / "provisioning/datasources/influxdb.yaml").read_text()
    assert "$INFLUXDB_PASSWORD" in ds
    assert "INFLUXDB_PASSWORD" in compose["services"]["grafana"]["environment"]
