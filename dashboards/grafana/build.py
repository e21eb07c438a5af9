"""Write the Grafana dashboards JSON of ``dashboards/grafana/dashboards/`` from this file.

Run ``python -m dashboards.grafana.build`` after changing a panel; the JSON files are committed
so that Grafana's file provisioning (``provisioning/dashboards/dashboards.yaml``) reads them
as they are. Every query is raw InfluxQL against the schema of :mod:`telemetry.store`
(measurements ``telemetry``, ``events``, ``rejects``, ``gateway``) and is run against a real
influxd by ``tests/dashboards/test_grafana.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "dashboards"
DS = {"type": "influxdb", "uid": "tanzhang-influxdb"}
#: grid factor of the CO2 estimate panels [t CO2/kWh]: MEE/NBS 2023 national average
#: 0.5306 kg CO2/kWh (docs/methodology.md §2), the accounting default ``electricity.grid``
GRID_T_PER_KWH = 0.0005306


def target(query: str, ref: str = "A", fmt: str = "time_series", alias: str = "") -> dict:
    t = {"datasource": DS, "refId": ref, "rawQuery": True, "query": query, "resultFormat": fmt}
    if alias:
        t["alias"] = alias
    return t


class Board:
    """A dashboard under construction: panels laid out left to right, 24 columns wide."""

    def __init__(self, uid: str, title: str, tags: list[str], refresh: str = "10s") -> None:
        self.uid, self.title, self.tags, self.refresh = uid, title, tags, refresh
        self.panels: list[dict] = []
        self.vars: list[dict] = []
        self._x = self._y = self._row_h = 0

    def var(self, name: str, label: str, query: str, multi: bool = True) -> None:
        self.vars.append(
            {
                "name": name,
                "label": label,
                "type": "query",
                "datasource": DS,
                "query": query,
                "definition": query,
                "refresh": 2,
                "multi": multi,
                "includeAll": True,
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                "sort": 1,
            }
        )

    def panel(
        self, kind: str, title: str, targets: list[dict], w: int = 12, h: int = 8, **extra: Any
    ) -> None:
        if self._x + w > 24:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        p = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "datasource": DS,
            "gridPos": {"x": self._x, "y": self._y, "w": w, "h": h},
            "targets": targets,
        }
        p.update(extra)
        self.panels.append(p)
        self._x += w
        self._row_h = max(self._row_h, h)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "tags": self.tags,
            "timezone": "browser",
            "schemaVersion": 39,
            "version": 1,
            "editable": True,
            "refresh": self.refresh,
            "time": {"from": "now-24h", "to": "now"},
            "templating": {"list": self.vars},
            "panels": self.panels,
        }


def unit(u: str, **more: Any) -> dict:
    return {"fieldConfig": {"defaults": {"unit": u, **more}, "overrides": []}}


def factory_lines() -> Board:
    b = Board("tanzhang-factory-lines", "碳账 工厂产线 Factory lines", ["tanzhang", "factory"])
    b.var("entity", "产线 Line", 'SHOW TAG VALUES FROM "telemetry" WITH KEY = "entity"')
    sel = '"entity" =~ /^$entity$/'
    b.panel(
        "timeseries",
        "功率 Power by line (kW)",
        [
            target(
                'SELECT sum("p") FROM (SELECT mean("power_kw") AS "p" FROM "telemetry" '
                f'WHERE {sel} AND $timeFilter GROUP BY time($__interval), "entity", "device" '
                'fill(none)) WHERE $timeFilter GROUP BY time($__interval), "entity" fill(none)',
                alias="$tag_entity",
            )
        ],
        w=16,
        **unit("kwatt"),
    )
    b.panel(
        "stat",
        "当前功率 Power now (kW)",
        [
            target(
                f'SELECT last("power_kw") FROM "telemetry" WHERE {sel} AND $timeFilter '
                'GROUP BY "entity", "device"',
                alias="$tag_entity",
            )
        ],
        w=8,
        **unit("kwatt"),
    )
    b.panel(
        "timeseries",
        "每小时电量 Energy per hour (kWh)",
        [
            target(
                'SELECT non_negative_difference(last("energy_kwh_total")) FROM "telemetry" '
                f'WHERE {sel} AND $timeFilter GROUP BY time(1h), "entity", "device" fill(none)',
                alias="$tag_entity",
            )
        ],
        w=12,
        **unit("kwatth", custom={"drawStyle": "bars", "fillOpacity": 60}),
    )
    b.panel(
        "timeseries",
        "每小时排放估算 CO2 per hour, grid 0.5306 kg/kWh (t)",
        [
            target(
                f'SELECT non_negative_difference(last("energy_kwh_total")) * {GRID_T_PER_KWH} '
                f'FROM "telemetry" WHERE {sel} AND $timeFilter '
                'GROUP BY time(1h), "entity", "device" fill(none)',
                alias="$tag_entity",
            )
        ],
        w=12,
        **unit("short", decimals=3),
    )
    b.panel(
        "table",
        "时段电量 Energy in the time range (kWh)",
        [
            target(
                f'SELECT spread("energy_kwh_total") AS "kWh", last("energy_kwh_total") AS '
                f'"register" FROM "telemetry" WHERE {sel} AND $timeFilter '
                'GROUP BY "entity", "device"',
                fmt="table",
            )
        ],
        w=12,
    )
    b.panel(
        "timeseries",
        "表计上报次数 Readings per 10 min (0 = silent meter)",
        [
            target(
                f'SELECT count("power_kw") FROM "telemetry" WHERE {sel} AND $timeFilter '
                'GROUP BY time(10m), "device" fill(0)',
                alias="$tag_device",
            )
        ],
        w=12,
    )
    for field, title, u in (
        ("gas_m3_total", "燃气 Gas per hour (m³)", "m3"),
        ("steam_t_total", "蒸汽 Steam per hour (t)", "short"),
    ):
        b.panel(
            "timeseries",
            title,
            [
                target(
                    f'SELECT non_negative_difference(last("{field}")) FROM "telemetry" '
                    f'WHERE {sel} AND $timeFilter GROUP BY time(1h), "entity" fill(none)',
                    alias="$tag_entity",
                )
            ],
            w=12,
            **unit(u),
        )
    return b


def orchards() -> Board:
    b = Board("tanzhang-orchards", "碳账 果园 Orchards", ["tanzhang", "orchard"], refresh="1m")
    b.var("orchard", "果园 Orchard", 'SHOW TAG VALUES FROM "events" WITH KEY = "entity"')
    sel = '"entity" =~ /^$orchard$/'
    for field, title, u in (
        ("soil_moisture_pct", "土壤湿度 Soil moisture (%)", "percent"),
        ("soil_temp_c", "土壤温度 Soil temperature (°C)", "celsius"),
        ("air_temp_c", "气温 Air temperature (°C)", "celsius"),
        ("solar_wm2", "辐照 Solar irradiance (W/m²)", "short"),
    ):
        b.panel(
            "timeseries",
            title,
            [
                target(
                    f'SELECT mean("{field}") FROM "telemetry" WHERE {sel} AND $timeFilter '
                    'GROUP BY time($__interval), "entity" fill(none)',
                    alias="$tag_entity",
                )
            ],
            w=12,
            **unit(u),
        )
    b.panel(
        "timeseries",
        "降雨 Rain per hour (mm)",
        [
            target(
                'SELECT non_negative_difference(last("rain_mm_total")) FROM "telemetry" '
                f'WHERE {sel} AND $timeFilter GROUP BY time(1h), "entity" fill(none)',
                alias="$tag_entity",
            )
        ],
        w=12,
        **unit("lengthmm"),
    )
    b.panel(
        "timeseries",
        "施肥 Fertiliser applied per week (kg)",
        [
            target(
                'SELECT sum("mass_kg") FROM "events" WHERE "type" = \'fertilizer_applied\' '
                f'AND {sel} AND $timeFilter GROUP BY time(1w), "entity" fill(none)',
                alias="$tag_entity",
            )
        ],
        w=12,
        **unit("masskg", custom={"drawStyle": "bars", "fillOpacity": 60}),
    )
    b.panel(
        "timeseries",
        "田间记录 Field records per day by type",
        [
            target(
                f'SELECT count("id") FROM "events" WHERE {sel} AND $timeFilter '
                'GROUP BY time(1d), "type" fill(none)',
                alias="$tag_type",
            )
        ],
        w=12,
    )
    b.panel(
        "table",
        "最近田间记录 Latest field records",
        [
            target(
                'SELECT "entity", "type", "id", "product", "mass_kg", "litres", "area_mu", '
                f'"trees" FROM "events" WHERE {sel} AND $timeFilter ORDER BY time DESC LIMIT 50',
                fmt="table",
            )
        ],
        w=24,
        h=10,
    )
    return b


def gateway_health() -> Board:
    b = Board("tanzhang-gateway", "碳账 网关健康 Gateway health", ["tanzhang", "gateway"])
    b.var("gateway", "网关 Gateway", 'SHOW TAG VALUES FROM "gateway" WITH KEY = "gateway"')
    sel = '"gateway" =~ /^$gateway$/'
    for fields, title, w in (
        (
            ("received", "acked", "readings_written", "rejected"),
            "消息速率 Messages per second",
            16,
        ),
    ):
        b.panel(
            "timeseries",
            title,
            [
                target(
                    "SELECT "
                    + ", ".join(
                        f'non_negative_derivative(last("{f}"), 1s) AS "{f}"' for f in fields
                    )
                    + f' FROM "gateway" WHERE {sel} AND $timeFilter '
                    'GROUP BY time($__interval), "gateway" fill(none)',
                    alias="$tag_gateway $col",
                )
            ],
            w=w,
            **unit("reqps"),
        )
    b.panel(
        "stat",
        "连接 Connected (MQTT, store)",
        [
            target(
                'SELECT last("mqtt_connected") AS "mqtt", last("store_up") AS "store" '
                f'FROM "gateway" WHERE {sel} AND $timeFilter GROUP BY "gateway"',
                alias="$tag_gateway $col",
            )
        ],
        w=8,
        fieldConfig={
            "defaults": {
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            "0": {"text": "DOWN", "color": "red"},
                            "1": {"text": "UP", "color": "green"},
                        },
                    }
                ]
            },
            "overrides": [],
        },
    )
    b.panel(
        "timeseries",
        "磁盘缓存 Spool (bytes) and held messages",
        [
            target(
                'SELECT last("spool_bytes") AS "spool_bytes" FROM "gateway" '
                f'WHERE {sel} AND $timeFilter GROUP BY time($__interval), "gateway" fill(none)',
                alias="$tag_gateway $col",
            ),
            target(
                'SELECT last("held_messages") AS "held", last("spool_oldest_age_seconds") AS '
                f'"oldest_s" FROM "gateway" WHERE {sel} AND $timeFilter '
                'GROUP BY time($__interval), "gateway" fill(none)',
                ref="B",
                alias="$tag_gateway $col",
            ),
        ],
        w=12,
    )
    b.panel(
        "timeseries",
        "写入故障 Store write failures per minute",
        [
            target(
                'SELECT non_negative_difference(last("store_unavailable")) AS "unavailable", '
                'non_negative_difference(last("store_rejected_writes")) AS "rejected", '
                'non_negative_difference(last("store_errors")) AS "errors" FROM "gateway" '
                f'WHERE {sel} AND $timeFilter GROUP BY time(1m), "gateway" fill(none)',
                alias="$tag_gateway $col",
            )
        ],
        w=12,
    )
    b.panel(
        "timeseries",
        "设备在线 Devices online / offline; broker drops",
        [
            target(
                'SELECT last("devices_online") AS "online", last("devices_offline") AS '
                '"offline", last("broker_dropped_messages") AS "broker_dropped" FROM "gateway" '
                f'WHERE {sel} AND $timeFilter GROUP BY time($__interval), "gateway" fill(none)',
                alias="$tag_gateway $col",
            )
        ],
        w=12,
    )
    b.panel(
        "timeseries",
        "拒收原因 Rejects by reason",
        [
            target(
                'SELECT count("topic") FROM "rejects" WHERE $timeFilter '
                'GROUP BY time($__interval), "reason" fill(none)',
                alias="$tag_reason",
            )
        ],
        w=12,
        **unit("short", custom={"drawStyle": "bars", "fillOpacity": 60}),
    )
    b.panel(
        "table",
        "最近拒收 Latest rejects",
        [
            target(
                'SELECT "reason", "topic", "detail", "entity", "device" FROM "rejects" '
                "WHERE $timeFilter ORDER BY time DESC LIMIT 50",
                fmt="table",
            )
        ],
        w=24,
        h=10,
    )
    return b


BOARDS = {
    "factory-lines.json": factory_lines,
    "orchards.json": orchards,
    "gateway-health.json": gateway_health,
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in BOARDS.items():
        text = json.dumps(make().to_dict(), ensure_ascii=False, indent=2) + "\n"
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
