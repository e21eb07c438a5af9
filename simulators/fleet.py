"""The demo fleet (2 factories x 3 lines, 6 huyou orchards, 1 forest plot) and its registry.

:func:`demo_fleet` is what ``tanzhang run`` and ``tanzhang simulate`` use. The orchard
profiles are designed, under the defaults of docs/methodology.md (:mod:`simulators.orchard_balance`),
for R = sequestration / emissions of about:

==============  =========  =====  ==================================================  =====
orchard         county     mu     management                                          R
==============  =========  =====  ==================================================  =====
huyou-cs-01     changshan  120    organic substitution + grass cover, 8 kg N/mu        ~1.6
huyou-cs-02     changshan  85     grass cover + straw return, 12 kg N/mu, young trees  ~1.6
huyou-cs-03     changshan  150    grass cover, 13.8 kg N/mu                            ~1.1
huyou-kc-01     kecheng    60     no practice, 15.5 kg N/mu                            ~0.9
huyou-cs-04     changshan  50     no practice, 22 kg N/mu, more diesel and pesticide   ~0.5
huyou-qj-01     qujiang    200    no practice, 35 kg N/mu (40 % urea), heavy inputs    ~0.25
==============  =========  =====  ==================================================  =====

so the intended colours are dark green x2, light green, yellow, red x2; the accounting
engine decides the real labels.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

from simulators.factory import FactorySpec, LineSpec, factory_models
from simulators.faults import FaultPlan, apply_faults, parse_faults, plan_faults
from simulators.forest import ForestSpec, forest_models
from simulators.messages import DEFAULT_PREFIX, Message, batch_messages, make_topic
from simulators.orchard import OrchardSpec, orchard_models
from simulators.series import DeviceModel, readings
from sitetime.calendar import site_calendar


class DeviceInfo(NamedTuple):
    id: str
    entity: str
    role: str


@dataclass
class Fleet:
    """Factories (with their lines), orchards and forest plots simulated together."""

    seed: int
    factories: tuple[FactorySpec, ...] = ()
    orchards: tuple[OrchardSpec, ...] = ()
    forests: tuple[ForestSpec, ...] = ()
    prefix: str = DEFAULT_PREFIX
    _models: list[DeviceModel] | None = field(default=None, init=False, repr=False)

    @property
    def lines(self) -> list[LineSpec]:
        return [line for f in self.factories for line in f.lines]

    def models(self) -> list[DeviceModel]:
        """Every device model, in a fixed order (factories, orchards, forests)."""
        if self._models is None:
            models: list[DeviceModel] = []
            for f in self.factories:
                models += factory_models(f, self.seed)
            for o in self.orchards:
                models += orchard_models(o, self.seed)
            for p in self.forests:
                models += forest_models(p, self.seed)
            self._models = models
        return self._models

    def devices(self) -> list[DeviceInfo]:
        return [DeviceInfo(m.device_id, m.entity_id, m.role) for m in self.models()]

    def password(self, device_id: str) -> str:
        """The device's MQTT password (deterministic for the seed; demo use only)."""
        digest = hashlib.sha256(f"tanzhang-sim:{self.seed}:{device_id}".encode()).digest()
        return base64.urlsafe_b64encode(digest)[:20].decode()

    def password_hash(self, device_id: str) -> str:
        """mosquitto 2.x ``$7$`` PBKDF2-SHA512 hash of :meth:`password` (salt from the seed)."""
        salt = hashlib.sha256(f"salt:{self.seed}:{device_id}".encode()).digest()[:12]
        dk = hashlib.pbkdf2_hmac("sha512", self.password(device_id).encode(), salt, 101)
        return f"$7$101${base64.b64encode(salt).decode()}${base64.b64encode(dk).decode()}"

    # -- messages -----------------------------------------------------------------------
    def fault_plan(self, faults: Iterable[str], start_ms: int, end_ms: int | None) -> FaultPlan:
        models = [m for m in self.models() if m.has_data]
        regs = [m.device_id for m in models if m.role in ("electricity_meter", "gas_meter")]
        return plan_faults(
            faults,
            register_devices=regs,
            data_devices=[m.device_id for m in models],
            start_ms=start_ms,
            end_ms=end_ms,
            seed=self.seed,
        )

    def messages(
        self,
        start_ms: int,
        end_ms: int | None,
        step_s: int,
        *,
        faults: str | Iterable[str] = (),
        batch: bool = False,
    ) -> Iterator[Message]:
        """Every reading and field record in [start_ms, end_ms) in time order.

        step_s : reading interval [s]; faults : flags of :mod:`simulators.faults`;
        batch : group readings into batch payloads (back-fill).
        """
        stream: Iterator[Message] = readings(
            self.models(), start_ms, end_ms, step_s, prefix=self.prefix
        )
        flags = parse_faults(faults)
        if flags:
            stream = apply_faults(stream, self.fault_plan(flags, start_ms, end_ms))
        if batch:
            stream = batch_messages(stream)
        return stream

    def record_book(self, start_ms: int) -> list[Message]:
        """Event messages of the records each device keeps from before ``start_ms`` (an
        orchard's earlier tree surveys and practices), sent before a back-fill from
        ``start_ms`` so its first year has a survey pair and its practices in force."""
        out = []
        for m in self.models():
            topic = make_topic(self.prefix, m.entity_id, m.device_id, "event")
            out += [(t, Message(topic, dict(p))) for t, p in m.record_book(start_ms)]
        return [msg for _, msg in sorted(out, key=lambda e: e[0])]

    def status_messages(self, state: str = "online") -> list[Message]:
        """Retained ``status`` messages for every device."""
        return [
            Message(make_topic(self.prefix, d.entity, d.id, "status"), state, True)
            for d in self.devices()
        ]

    # -- registry -------------------------------------------------------------------------
    def entities(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for f in self.factories:
            out.append(
                {
                    "id": f.id,
                    "kind": "factory",
                    "name": f.name,
                    "industry_code": f.industry_code,
                    "value_added_10k_cny": f.value_added_10k_cny,
                }
            )
            for line in f.lines:
                ent: dict[str, Any] = {
                    "id": line.id,
                    "kind": "line",
                    "parent": f.id,
                    "name": line.name,
                    "output_unit": line.output_unit,
                }
                if line.baseline_start:
                    ent["baseline_start"] = line.baseline_start.isoformat()
                if line.baseline_end:
                    ent["baseline_end"] = line.baseline_end.isoformat()
                if line.intervention_date:
                    ent["intervention_date"] = line.intervention_date.isoformat()
                    ent["intervention"] = line.intervention
                if line.emc:
                    ent["emc"] = line.emc
                out.append(ent)
        for o in self.orchards:
            out.append(
                {
                    "id": o.id,
                    "kind": "orchard",
                    "name": o.name,
                    "area_mu": o.area_mu,
                    "county": o.county,
                }
            )
        for p in self.forests:
            out.append(
                {
                    "id": p.id,
                    "kind": "forest",
                    "name": p.name,
                    "area_mu": p.area_mu,
                    "county": p.county,
                    "species": p.species,
                }
            )
        return out

    def registry_toml(self, *, passwords: str = "hash") -> str:
        """The registry file (TOML) of the fleet.

        passwords : ``hash`` writes ``password_hash`` (mosquitto ``$7$``, what
        telemetry's registry stores), ``plain`` writes ``password``, ``none`` neither.
        """
        if passwords not in ("hash", "plain", "none"):
            raise ValueError("passwords must be hash, plain or none")
        parts = ["# tanzhang registry: demo fleet generated by simulators.fleet\n"]
        for ent in self.entities():
            parts.append("[[entities]]\n" + _toml_table(ent))
        for d in self.devices():
            dev: dict[str, Any] = {"id": d.id, "entity": d.entity, "role": d.role}
            if passwords == "hash":
                dev["password_hash"] = self.password_hash(d.id)
            elif passwords == "plain":
                dev["password"] = self.password(d.id)
            parts.append("[[devices]]\n" + _toml_table(dev))
        return "\n".join(parts)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict):  # an inline table
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)  # a TOML basic string


def _toml_table(d: dict[str, Any]) -> str:
    return "".join(f"{k} = {_toml_value(v)}\n" for k, v in d.items())


def demo_emc(start: date) -> dict[str, Any]:
    """The demo's energy-management contract (line-b3's compressor upgrade, from its
    intervention day): a fictitious partner, 70 % of the value to the partner for five
    years, and illustrative time-of-use prices shaped like an industrial tariff (sharp, peak,
    valley hours) — not a published tariff."""
    try:
        end = start.replace(year=start.year + 5) - timedelta(days=1)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + 5, day=28)
    return {
        "partner": "示例节能服务有限公司 Demo ESCO",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "partner_share": 0.7,
        "tariff": {
            "sharp": {"price_cny_per_kwh": 1.25, "hours": [[19, 21]]},
            "peak": {"price_cny_per_kwh": 1.02, "hours": [[8, 11], [13, 19], [21, 22]]},
            "valley": {"price_cny_per_kwh": 0.33, "hours": [[0, 8], [11, 13], [22, 24]]},
        },
        "tariff_note": "illustrative time-of-use prices for the demo, not a published tariff",
        "reference": "DEMO-EMC-001",
    }


def _today_cst() -> date:
    return site_calendar().today()


#: days of a line's baseline before its intervention (CalTRACK 2.0 daily methods: 365)
BASELINE_DAYS = 365
#: the longest time before ``today`` at which a demo line had its intervention [d]
LONGEST_INTERVENTION_AGO = 120
#: a control line's reporting period: its baseline ends this many days before ``today``
CONTROL_REPORTING_DAYS = 120


def demo_history_days(today: date) -> int:
    """Days of history the demo needs on ``today`` [d]: the whole of last calendar year (so
    its months and year close with full coverage) and each line's 365-day baseline before its
    intervention, whichever reaches further back."""
    # the back-fill starts at this time of day ``days`` ago: one more day makes 1 January whole
    since_last_year = (today - date(today.year - 1, 1, 1)).days + 1
    return max(since_last_year, BASELINE_DAYS + LONGEST_INTERVENTION_AGO + 1)


def demo_fleet(
    seed: int = 42,
    *,
    today: date | None = None,
    history_days: int = 365,
    prefix: str = DEFAULT_PREFIX,
) -> Fleet:
    """The demo fleet, with line baselines and interventions placed relative to ``today``.

    today : the day the back-fill ends (default: the site calendar's today)
    history_days : the back-fill length [d] (:func:`demo_history_days` covers every baseline)
    Interventions: line-a3 (variable-speed drives, -12 %) 120 days before ``today``, line-b3
    (compressed-air VSD, -15 %) 90 days before, financed under an energy-management contract
    (:func:`demo_emc`); other lines have none (controls).
    Baselines are the :data:`BASELINE_DAYS` days immediately before the intervention
    (CalTRACK 2.0: the 365 days before it); a control line gets the same window as if it had
    an intervention :data:`CONTROL_REPORTING_DAYS` days ago, so its "saving" measures the
    model's error alone. A baseline is clipped to the history when that is shorter.
    """
    today = today or _today_cst()
    start = today - timedelta(days=history_days)

    def line(
        lid: str, fid: str, name: str, saving: float = 0.0, days_ago: int = 0, **kw: Any
    ) -> LineSpec:
        inter = today - timedelta(days=days_ago) if saving else None
        cut = inter or today - timedelta(days=CONTROL_REPORTING_DAYS)
        end = cut - timedelta(days=1)
        return LineSpec(
            lid,
            fid,
            name,
            intervention_date=inter,
            savings_frac=saving,
            baseline_start=max(start, cut - timedelta(days=BASELINE_DAYS)),
            baseline_end=end,
            **kw,
        )

    fa = FactorySpec(
        "factory-a",
        "衢州绿源纺织印染有限公司",
        industry_code="C1713",
        value_added_10k_cny=8600.0,
        pv_kwp=800.0,
        lines=(
            line("line-a1", "factory-a", "染色一线", base_kw=60, kwh_per_unit=1.2,
                 units_per_hour=120, steam_t_per_unit=0.004, output_unit="m", cooling_kw_per_k=4.0),
            line("line-a2", "factory-a", "定型整理线", base_kw=45, kwh_per_unit=0.9,
                 units_per_hour=150, gas_m3_per_unit=0.08, output_unit="m", gas_m3_per_kday=40.0),
            line("line-a3", "factory-a", "纺纱车间", 0.12, 120, base_kw=90, kwh_per_unit=3.5,
                 units_per_hour=80, shifts=((0, 8), (8, 16), (16, 24)), workdays=6, output_unit="kg",
                 intervention="variable-speed drives on spinning frames",
                 cooling_kw_per_k=12.0),
        ),
    )  # fmt: skip
    fb = FactorySpec(
        "factory-b",
        "衢州柯城精工机械有限公司",
        industry_code="C3441",
        value_added_10k_cny=5200.0,
        pv_kwp=450.0,
        lines=(
            line("line-b1", "factory-b", "机加工线", base_kw=35, kwh_per_unit=4.0,
                 units_per_hour=25, workdays=6, cooling_kw_per_k=5.0),
            line("line-b2", "factory-b", "热处理线", base_kw=50, kwh_per_unit=6.0,
                 units_per_hour=20, gas_m3_per_unit=1.5, gas_m3_per_kday=15.0),
            line("line-b3", "factory-b", "涂装与压缩空气", 0.15, 90, base_kw=70,
                 intervention="variable-speed air compressor",
                 emc=demo_emc(today - timedelta(days=90)),
                 kwh_per_unit=2.5, units_per_hour=30, cooling_kw_per_k=8.0),
        ),
    )  # fmt: skip
    orchards = (
        OrchardSpec("huyou-cs-01", "常山青石胡柚有机示范园", "changshan", 120, "dark_green",
                    growth_kg_per_tree=3.5, synthetic_n_kg_per_mu=8, organic_t_per_mu=0.6,
                    practices=("grass_cover", "organic_substitution")),
        OrchardSpec("huyou-cs-02", "常山新昌生草栽培胡柚园", "changshan", 85, "dark_green",
                    tree_biomass_kg=25, growth_kg_per_tree=4.0, synthetic_n_kg_per_mu=12,
                    practices=("grass_cover", "straw_return")),
        OrchardSpec("huyou-cs-03", "常山招贤胡柚基地", "changshan", 150, "light_green",
                    growth_kg_per_tree=3.0, synthetic_n_kg_per_mu=13.8, diesel_l_per_mu=10,
                    practices=("grass_cover",)),
        OrchardSpec("huyou-kc-01", "柯城九华胡柚园", "kecheng", 60, "yellow",
                    growth_kg_per_tree=3.2, synthetic_n_kg_per_mu=15.5),
        OrchardSpec("huyou-cs-04", "常山球川胡柚园", "changshan", 50, "red",
                    growth_kg_per_tree=2.5, synthetic_n_kg_per_mu=22, diesel_l_per_mu=12,
                    pesticide_kg_per_mu=1.0),
        OrchardSpec("huyou-qj-01", "衢江高家胡柚种植场", "qujiang", 50, "red",
                    growth_kg_per_tree=2.0, synthetic_n_kg_per_mu=27, urea_share=0.4,
                    diesel_l_per_mu=15, pesticide_kg_per_mu=2.0),
    )  # fmt: skip
    forests = (ForestSpec("forest-kh-01", "开化林场杉木固定样地", "kaihua", 300.0),)
    return Fleet(seed, (fa, fb), orchards, forests, prefix)
