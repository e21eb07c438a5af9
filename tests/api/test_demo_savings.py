"""The demo fleet's factory-b through the real API on a fixed clock: with the 365 days
before line-b3's intervention in the store, its saving is recovered within its band of the
simulator's truth; the control lines (b1, b2) show no since-intervention row and their
last-2-hours and today bands contain zero (issue 9).

History: 455 days at a 1-hour step (line-b3's intervention is 90 days before TODAY, so the
baseline is days 455 .. 91 before TODAY); ~100 k readings, a few seconds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulators.factory import line_energy_truth
from simulators.messages import date_ms
from sitetime import clock
from tests.api.factory_b_demo import SEED, FactoryBDemo


@pytest.fixture(scope="module")
def demo_b(factory_b_demo: FactoryBDemo):  # noqa: ANN201
    d = factory_b_demo
    return (d.client, {"X-API-Key": d.keys["admin"]}, d.fleet, d.now)


def _get(demo_b, line: str) -> dict:
    client, headers, _, now = demo_b
    with clock.use_clock(now):
        r = client.get(f"/v1/lines/{line}/savings", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_treated_line_fits_and_recovers_the_true_saving(demo_b):
    _, _, fleet, now = demo_b
    spec = next(ln for ln in fleet.lines if ln.id == "line-b3")
    body = _get(demo_b, "line-b3")
    inter = spec.intervention_date
    assert body["intervention_date"] == inter.isoformat()
    m = body["model"]
    assert m["baseline_end"] == (inter - timedelta(days=1)).isoformat()
    assert m["baseline_start"] >= (inter - timedelta(days=365)).isoformat()
    assert m["n_days"] >= 329  # CalTRACK: >= 90 % of the 365 days
    since = body["windows"]["since_intervention"]
    now_ms = int(now.timestamp() * 1000)
    truth = line_energy_truth(spec, date_ms(inter), now_ms // 3_600_000 * 3_600_000,
                              SEED).avoided_kwh  # fmt: skip
    assert abs(since["avoided_kwh"] - truth) <= since["uncertainty_kwh"], (since, truth)
    assert since["lower_t_co2"] > 0  # a 15 % saving is significant over 90 days


@pytest.mark.parametrize("line", ["line-b1", "line-b2"])
def test_control_lines_show_no_saving_and_no_since_intervention(demo_b, line):
    body = _get(demo_b, line)
    assert body["intervention_date"] is None
    assert set(body["windows"]) == {"last_2h", "today"}
    for name, w in body["windows"].items():
        assert w["lower_t_co2"] <= 0 <= w["upper_t_co2"], (line, name, w)
