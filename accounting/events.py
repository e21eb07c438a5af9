"""Field events (fertiliser, fuel, harvest, practices, tree surveys, pesticides) summed by type.

Events arrive as dicts (the ``event`` channel of the wire contract), e.g.::

    {"type": "fertilizer_applied", "id": "e1", "product": "urea", "mass_kg": 200,
     "n_frac": 0.46, "p2o5_frac": 0, "k2o_frac": 0, "organic": False}
    {"type": "fuel_used", "id": "e2", "fuel": "diesel", "litres": 40}
    {"type": "harvest", "id": "e3", "mass_t": 12.5}
    {"type": "practice", "id": "e4", "practice": "grass_cover", "area_mu": 30}
    {"type": "tree_survey", "id": "e5", "ts": "2026-10-01", "trees": 1500,
     "mean_trunk_diameter_cm": 12.0}            # or "biomass_t": 95.0 [t d.m. above ground]
    {"type": "tree_survey", "id": "e8", "ts_ms": 1767225600000, "trees": 9000,
     "volume_m3": 1100.0, "species": "chinese_fir"}   # forest plot inventory
    {"type": "pesticide_applied", "id": "e6", "mass_kg": 3, "class": "herbicide"}
    {"type": "lime_applied", "id": "e7", "mass_t": 2, "material": "limestone"}

Pesticide ``mass_kg`` is read as active ingredient (the class factors of Lal 2004 are per
kg a.i.); send the a.i. mass, not the formulated product, where it is known.

Events with the same ``id`` are counted once (the gateway delivers at least once).
Unknown types are counted in ``EventTotals.ignored`` and otherwise ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from accounting.errors import InvalidEventError

PRACTICES = ("grass_cover", "straw_return", "organic_substitution")
FUEL_UNITS = {"litres": "l", "volume_m3": "m3", "mass_kg": "kg"}


@dataclass
class EventTotals:
    """Sums of field events over a period.

    Masses in kg unless named otherwise. ``n_synthetic_kg`` / ``n_organic_kg`` are nitrogen
    masses; ``urea_kg`` the product mass of urea; ``organic_product_kg`` the product mass of
    organic fertiliser; ``fuels`` maps ``fuel -> {unit: amount}`` (unit ``l``, ``m3`` or
    ``kg``); ``practices`` maps practice -> largest area reported [mu] (``practice_records`` holds the
    practice events themselves, for their dates); ``tree_surveys`` is
    the list of survey dicts in time order; ``pesticides_kg`` maps class -> kg.
    """

    n_synthetic_kg: float = 0.0
    n_organic_kg: float = 0.0
    n_synthetic_by_product_kg: dict[str, float] = field(default_factory=dict)
    urea_kg: float = 0.0
    p2o5_kg: float = 0.0
    k2o_kg: float = 0.0
    organic_product_kg: float = 0.0
    lime_t: dict[str, float] = field(default_factory=dict)
    fuels: dict[str, dict[str, float]] = field(default_factory=dict)
    harvest_t: float = 0.0
    practices: dict[str, float] = field(default_factory=dict)
    tree_surveys: list[dict] = field(default_factory=list)
    practice_records: list[dict] = field(default_factory=list)
    pesticides_kg: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    ignored: int = 0
    duplicates: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> EventTotals:
        return cls(**d)


def record_time_s(rec: dict) -> float | None:
    """Time of a dated record [s since the epoch, UTC] from ``ts_ms`` (epoch ms), or ``ts``
    (epoch ms number, ISO date/datetime text, date or datetime; naive means UTC); None if
    it has none.

    Raises
    ------
    InvalidEventError
        The time cannot be read.
    """
    if rec.get("ts_ms") is not None:
        raw = rec["ts_ms"]
    elif rec.get("ts") is not None:
        raw = rec["ts"]
    else:
        return None
    try:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw) / 1000.0
        if isinstance(raw, str):
            raw = datetime.fromisoformat(raw)
        if isinstance(raw, date) and not isinstance(raw, datetime):
            raw = datetime(raw.year, raw.month, raw.day)
        if isinstance(raw, datetime):
            return (raw if raw.tzinfo else raw.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError):
        pass
    raise InvalidEventError(f"record {rec.get('id')!r}: unreadable time {raw!r}")


def _num(ev: dict, key: str, *, default: float | None = None, frac: bool = False) -> float:
    val = ev.get(key, default)
    if val is None:
        raise InvalidEventError(f"event {ev.get('id')!r} ({ev.get('type')}) lacks {key!r}")
    try:
        x = float(val)
    except (TypeError, ValueError):
        raise InvalidEventError(f"event {ev.get('id')!r}: {key}={val!r} is not a number") from None
    if not x >= 0 or x == float("inf") or (frac and x > 1):
        raise InvalidEventError(f"event {ev.get('id')!r}: {key}={val!r} out of range")
    return x


def _add(d: dict, key: str, x: float) -> None:
    d[key] = d.get(key, 0.0) + x


def summarize_events(events: Iterable[dict]) -> EventTotals:
    """Sum field events by type (see the module docstring for the shapes).

    Parameters
    ----------
    events : iterable of dict

    Returns
    -------
    EventTotals

    Raises
    ------
    InvalidEventError
        A known event type lacks a required field or has a negative / non-numeric value.
    """
    out = EventTotals()
    seen: set = set()
    counts: Counter = Counter()
    for ev in events:
        if not isinstance(ev, dict) or "type" not in ev:
            raise InvalidEventError(f"not an event: {ev!r}")
        eid = ev.get("id")
        if eid is not None:
            if eid in seen:
                out.duplicates += 1
                continue
            seen.add(eid)
        kind = ev["type"]
        if kind == "fertilizer_applied":
            mass = _num(ev, "mass_kg")
            n = mass * _num(ev, "n_frac", default=0.0, frac=True)
            product = str(ev.get("product", "generic")).lower()
            if bool(ev.get("organic", False)):
                out.n_organic_kg += n
                out.organic_product_kg += mass
            else:
                out.n_synthetic_kg += n
                _add(out.n_synthetic_by_product_kg, product, n)
                out.p2o5_kg += mass * _num(ev, "p2o5_frac", default=0.0, frac=True)
                out.k2o_kg += mass * _num(ev, "k2o_frac", default=0.0, frac=True)
                if product == "urea":
                    out.urea_kg += mass
        elif kind == "fuel_used":
            fuel = ev.get("fuel")
            if not fuel:
                raise InvalidEventError(f"event {eid!r} (fuel_used) lacks 'fuel'")
            present = [k for k in FUEL_UNITS if k in ev]
            if not present:
                raise InvalidEventError(f"event {eid!r} (fuel_used) lacks litres/volume_m3/mass_kg")
            amounts = out.fuels.setdefault(str(fuel), {})
            for k in present:
                _add(amounts, FUEL_UNITS[k], _num(ev, k))
        elif kind == "harvest":
            out.harvest_t += _num(ev, "mass_t")
        elif kind == "practice":
            practice = ev.get("practice")
            if practice not in PRACTICES:
                raise InvalidEventError(f"event {eid!r}: unknown practice {practice!r}")
            area = _num(ev, "area_mu")
            out.practices[practice] = max(out.practices.get(practice, 0.0), area)
            out.practice_records.append(dict(ev))
        elif kind in ("tree_survey", "forest_inventory"):
            # a stock needs biomass_t, volume_m3 (forests) or trees + mean trunk diameter
            if "biomass_t" in ev:
                _num(ev, "biomass_t")
            elif "volume_m3" in ev:
                _num(ev, "volume_m3")
            else:
                _num(ev, "trees")
                _num(ev, "mean_trunk_diameter_cm")
            record_time_s(ev)
            out.tree_surveys.append(dict(ev))
        elif kind == "pesticide_applied":
            _add(out.pesticides_kg, str(ev.get("class", "generic")), _num(ev, "mass_kg"))
        elif kind == "lime_applied":
            _add(out.lime_t, str(ev.get("material", "limestone")), _num(ev, "mass_t"))
        else:
            out.ignored += 1
            continue
        counts[kind] += 1
    out.counts = dict(counts)
    out.tree_surveys.sort(key=lambda s: record_time_s(s) or 0.0)
    return out
