"""Field events summed by type; invalid events raise InvalidEventError."""

import pytest

from accounting.errors import InvalidEventError
from accounting.events import summarize_events


def test_sums_by_type_and_dedupes_ids():
    ev = [
        {
            "type": "fertilizer_applied",
            "id": "1",
            "product": "urea",
            "mass_kg": 200,
            "n_frac": 0.46,
            "organic": False,
        },
        {
            "type": "fertilizer_applied",
            "id": "1",
            "product": "urea",
            "mass_kg": 200,
            "n_frac": 0.46,
        },  # redelivery
        {
            "type": "fertilizer_applied",
            "id": "2",
            "product": "compound",
            "mass_kg": 100,
            "n_frac": 0.15,
            "p2o5_frac": 0.15,
            "k2o_frac": 0.15,
        },
        {
            "type": "fertilizer_applied",
            "id": "3",
            "product": "manure",
            "mass_kg": 1000,
            "n_frac": 0.02,
            "organic": True,
        },
        {"type": "fuel_used", "id": "4", "fuel": "diesel", "litres": 40},
        {"type": "fuel_used", "id": "5", "fuel": "diesel", "litres": 10},
        {"type": "harvest", "id": "6", "mass_t": 12.5},
        {"type": "practice", "id": "7", "practice": "grass_cover", "area_mu": 30},
        {
            "type": "tree_survey",
            "id": "8",
            "ts": "2026-10-01",
            "trees": 1500,
            "mean_trunk_diameter_cm": 12.0,
        },
        {"type": "pesticide_applied", "id": "9", "mass_kg": 3, "class": "herbicide"},
        {"type": "something_new", "id": "10"},
    ]
    t = summarize_events(ev)
    assert t.n_synthetic_kg == pytest.approx(200 * 0.46 + 15)
    assert t.n_organic_kg == pytest.approx(20)
    assert t.urea_kg == 200 and t.p2o5_kg == pytest.approx(15) and t.k2o_kg == pytest.approx(15)
    assert t.organic_product_kg == 1000
    assert t.fuels == {"diesel": {"l": 50.0}}
    assert t.harvest_t == 12.5 and t.practices == {"grass_cover": 30.0}
    assert len(t.tree_surveys) == 1 and t.pesticides_kg == {"herbicide": 3.0}
    assert t.duplicates == 1 and t.ignored == 1


@pytest.mark.parametrize(
    "ev",
    [
        {"type": "fertilizer_applied", "id": "x", "n_frac": 0.4},
        {"type": "fertilizer_applied", "id": "x", "mass_kg": -1, "n_frac": 0.4},
        {"type": "fertilizer_applied", "id": "x", "mass_kg": 10, "n_frac": 1.4},
        {"type": "fuel_used", "id": "x", "fuel": "diesel"},
        {"type": "harvest", "id": "x", "mass_t": "lots"},
        {"type": "practice", "id": "x", "practice": "burning", "area_mu": 3},
        {"type": "tree_survey", "id": "x", "trees": 10},
        {"no_type": 1},
    ],
)
def test_invalid_events(ev):
    with pytest.raises(InvalidEventError):
        summarize_events([ev])
